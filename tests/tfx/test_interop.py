"""Our steps and TFX's, mixed: a TFX ExampleGen output through our trainer and evaluator, a TFX
ModelBlessing read by our exporter, and our prepare output through TFX's Trainer (via run_fn) and
TFX's Evaluator."""

from __future__ import annotations

import glob
import json
import os

import pytest
import tensorflow as tf

from components import evaluator, exporter, tfx_data, trainer

pytestmark = pytest.mark.slow


def _newest(pipeline_root: str, component: str, key: str) -> str:
    base = os.path.join(pipeline_root, component, key)
    return os.path.join(base, str(max(int(n) for n in os.listdir(base) if n.isdigit())))


def _count(files) -> int:
    return sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))


def test_a_tfx_examplegen_output_feeds_our_trainer_evaluator_and_exporter(tfx_runs, tmp_path):
    first, _, worse = tfx_runs
    examples = first.examples_dir
    schema = os.path.join(_newest(first.root + "/pipeline", "SchemaGen", "schema"), "schema.pbtxt")
    assert glob.glob(f"{examples}/Split-train/data_tfrecord-*.gz")  # TFX's names, not ours

    data_dir = tfx_data.write_data_files(
        examples, str(tmp_path / "data"), schema_pbtxt=schema, label="species"
    )
    with open(f"{data_dir}/stats.json") as f:
        stats = json.load(f)
    assert stats["num_rows"]["train"] == _count(glob.glob(f"{examples}/Split-train/*"))
    assert stats["columns"]["sex"]["missing"] > 0  # empty CSV cells read as missing

    model_dir = str(tmp_path / "model")
    result = trainer.run(examples, model_dir, train_steps=200, data_dir=data_dir, seed=0)
    assert result.global_step == 200
    evaluation = evaluator.run(
        examples, model_dir, str(tmp_path / "eval"), thresholds=["accuracy>=0.9"]
    )
    assert evaluation.blessed
    assert evaluation.example_count == _count(glob.glob(f"{examples}/Split-eval/*"))

    # A TFX ModelBlessing is a directory with a BLESSED or NOT_BLESSED file: our exporter reads it.
    pushed = exporter.run(model_dir, str(tmp_path / "serving"), evaluation_dir=first.blessing_dir)
    assert pushed.pushed
    assert os.path.basename(pushed.export_path).isdigit()  # <version>/ as the Pusher writes
    assert os.path.isfile(os.path.join(pushed.export_path, "saved_model.pb"))
    refused = exporter.run(model_dir, str(tmp_path / "serving"), evaluation_dir=worse.blessing_dir)
    assert not refused.pushed and refused.export_path is None


def test_the_tfx_trainers_model_run_is_a_model_dir_for_our_evaluator(tfx_runs, tmp_path):
    first, _, _ = tfx_runs
    evaluation = evaluator.run(first.examples_dir, first.model_run_dir, str(tmp_path / "eval"))
    assert evaluation.global_step == 300
    assert evaluation.metrics["accuracy"] >= 0.9


def test_our_prepare_output_feeds_tfx_trainer_through_run_fn_and_tfx_evaluator(prepared, tmp_path):
    from tfx import v1 as tfx

    from components.evaluator.tfma_config import tfma_eval_config

    # TFX's Evaluator reads every file of Split-eval/ as a TFRecord: statistics live elsewhere.
    assert all(f.endswith(".tfrecord.gz") for f in os.listdir(f"{prepared}/Split-eval"))

    examples = tfx.dsl.Importer(
        source_uri=prepared,
        artifact_type=tfx.types.standard_artifacts.Examples,
        properties={"split_names": json.dumps(["train", "eval"])},
    ).with_id("prepared_examples")
    trainer_component = tfx.components.Trainer(
        run_fn="components.trainer.tfx.run_fn",
        examples=examples.outputs["result"],
        train_args=tfx.proto.TrainArgs(num_steps=50),
        eval_args=tfx.proto.EvalArgs(num_steps=None),
        custom_config={"label": "species", "seed": 0},
    )
    evaluator_component = tfx.components.Evaluator(
        examples=examples.outputs["result"],
        model=trainer_component.outputs["model"],
        eval_config=tfma_eval_config(["accuracy>=0.9"], label_key="species", compare_metric=None),
    )
    root = str(tmp_path / "pipeline")
    pipeline = tfx.dsl.Pipeline(
        pipeline_name="prepared-into-tfx-trainer",
        pipeline_root=root,
        components=[examples, trainer_component, evaluator_component],
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
            str(tmp_path / "metadata.sqlite")
        ),
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)
    model = _newest(root, "Trainer", "model")
    assert os.path.isfile(os.path.join(model, "Format-Serving", "saved_model.pb"))
    with open(os.path.join(_newest(root, "Trainer", "model_run"), "trainer.json")) as f:
        record = json.load(f)
    assert record["global_step"] == 50 and record["examples_dir"] == prepared
    blessing = _newest(root, "Evaluator", "blessing")
    assert os.listdir(blessing) in (["BLESSED"], ["NOT_BLESSED"])  # TFMA judged our examples
    evaluation = _newest(root, "Evaluator", "evaluation")
    assert os.listdir(evaluation)
