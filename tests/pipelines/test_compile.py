"""The compiled pipeline: every task on the project image, deterministic output."""

from pathlib import Path

import yaml

from pipelines.tpuest import main
from components.image import image
from pipelines.cli import register  # noqa: F401  (the CLI module imports cleanly)
from pipelines.compile import compile_pipeline


def test_compiles_identically_with_every_task_on_the_project_image(tmp_path):
    first = compile_pipeline(str(tmp_path / "a.yaml"))
    second = compile_pipeline(str(tmp_path / "b.yaml"))
    assert Path(first).read_text() == Path(second).read_text()
    spec = yaml.safe_load(Path(first).read_text())
    executors = spec["deploymentSpec"]["executors"]
    containers = {name: e["container"] for name, e in executors.items() if "container" in e}
    # prepare + three branches (first model / warm / cold start) of trainer, evaluator, report, exporter
    assert len(containers) == 13
    assert {c["image"] for c in containers.values()} == {image()}
    assert any("importer" in e for e in executors.values())  # the baseline model
    tasks = {
        name: task
        for dag in [spec["root"]] + list(spec["components"].values())
        if "dag" in dag
        for name, task in dag["dag"]["tasks"].items()
    }
    trainers = [t for name, t in tasks.items() if name.startswith("trainer")]
    assert len(trainers) == 3 and all(t["retryPolicy"]["maxRetryCount"] == 2 for t in trainers)
    # Only prepare is cached (and only prepare may be: the trainer, evaluator, report and
    # exporter must run every time); the condition DAGs and the importer are never cached.
    cached = {n for n, t in tasks.items() if t.get("cachingOptions", {}).get("enableCache")}
    assert cached == {"prepare"}
    assert {n.split("-")[0] for n in tasks} >= {"trainer", "evaluator", "exporter", "report"}
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert {
        "input_pattern",
        "label",
        "module_file",
        "train_steps",
        "thresholds",
        "baseline_model_uri",
        "warm_start",
        "beam_options",
        "export_base",
        "replicas",
        "iterations_per_loop",
        "use_tpu",
        "tpu",
        "num_shards",
        "eval_batch_size",
    } <= set(inputs)
    assert inputs["use_tpu"]["defaultValue"] is False
    # The TPU parameters reach every trainer task.
    for trainer in trainers:
        for name in ("use_tpu", "tpu", "num_shards"):
            assert trainer["inputs"]["parameters"][name]["componentInputParameter"].startswith(
                f"pipelinechannel--{name}"
            )
    evaluators = [t for name, t in tasks.items() if name.startswith("evaluator")]
    assert len(evaluators) == 3
    for task in evaluators:
        assert task["inputs"]["parameters"]["batch_size"]["componentInputParameter"].startswith(
            "pipelinechannel--eval_batch_size"
        )


def test_cli_compile_writes_what_compile_pipeline_writes(tmp_path, capsys):
    out = tmp_path / "out" / "pipeline.yaml"
    assert main(["pipeline", "compile", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    expected = compile_pipeline(str(tmp_path / "expected.yaml"))
    assert out.read_text() == Path(expected).read_text()


def test_image_override_reaches_the_compiled_pipeline(tmp_path, monkeypatch):
    import importlib

    import components.evaluator.component as ev
    import components.exporter.component as ex
    import components.prepare.component as pr
    import components.trainer.component as tr
    import pipelines.compile as cp
    import pipelines.report_component as rc
    import pipelines.training_pipeline as tp

    monkeypatch.setenv("TPUEST_IMAGE", "registry.example/tpuest:test")
    try:
        for module in (pr, tr, ev, ex, rc, tp, cp):
            importlib.reload(module)
        spec = yaml.safe_load(Path(cp.compile_pipeline(str(tmp_path / "p.yaml"))).read_text())
        images = {
            e["container"]["image"]
            for e in spec["deploymentSpec"]["executors"].values()
            if "container" in e
        }
        assert images == {"registry.example/tpuest:test"}
    finally:
        monkeypatch.delenv("TPUEST_IMAGE")
        for module in (pr, tr, ev, ex, rc, tp, cp):
            importlib.reload(module)
