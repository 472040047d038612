"""The TFX pipeline on LocalDagRunner: blessed and pushed, then judged against the latest
blessed model; and its KubeflowV2DagRunner IR JSON."""

from __future__ import annotations

import json
import os

import pytest

pytestmark = pytest.mark.slow


def _metrics(blessing_dir: str) -> dict[tuple[str, str, bool], float]:
    """{(metric, model_name, is_diff): value} of the Evaluator run that wrote blessing_dir."""
    import tensorflow_model_analysis as tfma

    run_id = os.path.basename(blessing_dir)
    evaluation = os.path.join(os.path.dirname(os.path.dirname(blessing_dir)), "evaluation", run_id)
    values = {}
    for slice_metrics in tfma.load_metrics(evaluation):
        for kv in slice_metrics.metric_keys_and_values:
            key = (kv.key.name, kv.key.model_name, kv.key.is_diff)
            values[key] = kv.value.double_value.value
    return values


def test_first_run_is_blessed_and_pushed(tfx_runs):
    first, _, _ = tfx_runs
    assert first.blessed and first.pushed_dir
    assert os.path.isfile(os.path.join(first.pushed_dir, "saved_model.pb"))
    assert os.path.basename(first.pushed_dir).isdigit()  # Pusher's <version>/, like our exporter
    metrics = _metrics(first.blessing_dir)
    assert metrics[("accuracy", "", False)] >= 0.9
    assert metrics[("example_count", "", False)] > 50
    assert not any(model for _, model, _ in metrics)  # no baseline on a first run


def test_second_run_is_judged_against_the_first(tfx_runs):
    first, second, _ = tfx_runs
    metrics = _metrics(second.blessing_dir)
    # Same data and seed: the candidate equals the baseline, and "not worse" blesses it.
    candidate = metrics[("accuracy", "candidate", False)]
    baseline = metrics[("accuracy", "baseline", False)]
    assert abs(candidate - baseline) <= 1e-6
    assert abs(metrics[("accuracy", "candidate", True)]) <= 1e-6
    assert second.blessed and second.pushed_dir and second.pushed_dir != first.pushed_dir


def test_a_worse_model_is_not_blessed_against_the_baseline(tfx_runs):
    _, second, worse = tfx_runs
    metrics = _metrics(worse.blessing_dir)
    assert metrics[("accuracy", "candidate", True)] < 0  # worse than the blessed baseline
    assert not worse.blessed and worse.pushed_dir is None
    assert os.path.exists(os.path.join(worse.blessing_dir, "NOT_BLESSED"))
    serving = os.path.dirname(second.pushed_dir)
    assert len(os.listdir(serving)) == 2  # only the two blessed models were pushed


def test_kubeflow_v2_compile_writes_ir_json_on_the_project_image(tmp_path, monkeypatch):
    from pipelines.tfx_run import compile_kubeflow

    monkeypatch.delenv("TPUEST_IMAGE", raising=False)
    path = compile_kubeflow(
        str(tmp_path / "tfx_pipeline.json"),
        pipeline_root="gs://bucket/tfx",
        data_root="gs://bucket/penguins",
        serving_dir="gs://bucket/serving",
    )
    with open(path) as f:
        ir = json.load(f)
    spec = ir["pipelineSpec"]
    assert spec["pipelineInfo"]["name"] == "tpuest-tfx-penguins"
    tasks = set(spec["root"]["dag"]["tasks"])
    assert {
        "CsvExampleGen",
        "StatisticsGen",
        "SchemaGen",
        "Trainer",
        "Evaluator",
        "Pusher",
    } <= tasks
    images = {
        e["container"]["image"]
        for e in spec["deploymentSpec"]["executors"].values()
        if "container" in e
    }
    from components.image import DEFAULT_IMAGE

    assert images == {DEFAULT_IMAGE}
    assert ir["runtimeConfig"]["gcsOutputDirectory"] == "gs://bucket/tfx"

    def parameter(task: str, name: str) -> str:
        value = spec["root"]["dag"]["tasks"][task]["inputs"]["parameters"][name]
        return value["runtimeValue"]["constantValue"]["stringValue"]

    assert parameter("Trainer", "run_fn") == "components.trainer.tfx.run_fn"
    assert json.loads(parameter("Trainer", "custom_config"))["label"] == "species"
    [metric] = [
        m
        for m in json.loads(parameter("Evaluator", "eval_config"))["metrics_specs"][0]["metrics"]
        if m["class_name"] == "SparseCategoricalAccuracy"
    ]
    assert abs(metric["threshold"]["value_threshold"]["lower_bound"] - 0.9) <= 1e-12
    assert metric["threshold"]["change_threshold"]["direction"] == "HIGHER_IS_BETTER"


def test_bad_pipeline_names_and_metrics_are_refused(tmp_path):
    from pipelines.tfx_pipeline import create_pipeline

    paths = {
        "pipeline_root": str(tmp_path),
        "data_root": str(tmp_path),
        "serving_dir": str(tmp_path),
    }
    with pytest.raises(ValueError, match="must match"):
        create_pipeline(pipeline_name="Penguins_TFX", **paths)
    with pytest.raises(ValueError, match="'precision/Adelie' has no TFMA counterpart"):
        create_pipeline(thresholds=["precision/Adelie>=0.9"], **paths)
