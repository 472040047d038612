"""The exporter: blessed-only SavedModels that serve what predict gives, push.json, `tpuest export`."""

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata

import numpy as np
import pytest
import tensorflow as tf

from components import artifacts, evaluator, exporter, trained_model, trainer
from components.image import image
from pipelines.tpuest import main
from tests.components import penguins_fixtures
from tests.components.penguins_fixtures import raw_penguin_rows

penguins_examples = penguins_fixtures.penguins_examples
penguins_model = penguins_fixtures.penguins_model
penguins_evaluation = penguins_fixtures.penguins_evaluation


INT_COLUMNS = ("flipper_length_mm", "body_mass_g", "year")  # as prepare inferred them


def versions(base):
    return sorted(d for d in os.listdir(base) if d.isdigit())


@pytest.fixture(scope="module")
def pushed(tmp_path_factory, penguins_model, penguins_evaluation):
    base = str(tmp_path_factory.mktemp("serving") / "base")
    return exporter.run(
        penguins_model.model_dir, base, evaluation_dir=penguins_evaluation.output_dir
    )


def predicted_classes(model_dir, features, work_dir):
    model = trained_model.load(model_dir)
    est = model.estimator(work_dir=str(work_dir))

    def input_fn(params):
        return tf.data.Dataset.from_tensor_slices(features).batch(params["batch_size"])

    checkpoint = tf.train.latest_checkpoint(model_dir)
    classes = [p["classes"] for p in est.predict(input_fn, checkpoint_path=checkpoint)]
    est.close()
    return np.array(classes)


def test_blessed_model_is_exported_with_its_push_record(pushed, penguins_model):
    assert pushed.pushed and not pushed.forced and pushed.reason == "blessed"
    assert versions(pushed.export_base) == [os.path.basename(pushed.export_path)]
    assert pushed.global_step == penguins_fixtures.TRAIN_STEPS
    assert pushed.checkpoint == os.path.join(
        penguins_model.model_dir, f"model.ckpt-{penguins_fixtures.TRAIN_STEPS}"
    )
    with open(os.path.join(pushed.export_base, artifacts.PUSH_FILE)) as f:
        record = json.load(f)
    assert record["pushed"] and record["export_path"] == pushed.export_path
    assert record["metrics"]["accuracy"] > 0.9
    with open(os.path.join(pushed.export_path, "assets.extra", artifacts.PUSH_FILE)) as f:
        inside = json.load(f)
    assert inside["checkpoint"] == pushed.checkpoint and inside["global_step"] == 300
    assert inside["pushed_at"] and inside["forced"] is False
    assert not [d for d in os.listdir(pushed.export_base) if d.startswith(".temp")]


def test_export_serves_the_classes_predict_gives_for_raw_rows(pushed, penguins_model, tmp_path):
    features = raw_penguin_rows()
    expected = predicted_classes(penguins_model.model_dir, features, tmp_path)
    loaded = tf.saved_model.load(pushed.export_path)
    assert {"serving_default", "serving_default:raw", "classification"} <= set(loaded.signatures)
    served = loaded.signatures["serving_default:raw"](
        **{name: tf.constant(values) for name, values in features.items()}
    )
    np.testing.assert_array_equal(served["classes"].numpy(), expected)
    with open(penguins_fixtures.penguins_csv()) as f:
        species = np.array([line.split(",")[0] for line in f.read().split()[1:]])
    assert np.mean(expected.astype(str) == species) > 0.9


def test_the_example_signature_parses_serialized_rows(pushed, penguins_model, tmp_path):
    features = raw_penguin_rows(limit=20)
    serialized = []
    for i in range(20):
        feature = {}
        for name, values in features.items():
            value = values[i]
            if isinstance(value, str):
                if value:
                    feature[name] = tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[value.encode()])
                    )
            elif not np.isnan(value) and name in INT_COLUMNS:
                feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(value)]))
            elif not np.isnan(value):
                feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        serialized.append(example.SerializeToString())
    loaded = tf.saved_model.load(pushed.export_path)
    served = loaded.signatures["serving_default"](examples=tf.constant(serialized))
    expected = predicted_classes(penguins_model.model_dir, features, tmp_path)
    np.testing.assert_array_equal(served["classes"].numpy(), expected)
    scores = loaded.signatures["classification"](inputs=tf.constant(serialized))["scores"]
    np.testing.assert_allclose(
        scores.numpy(), served["probabilities"].numpy(), rtol=1e-6, atol=1e-7
    )


def test_not_blessed_exports_nothing_and_says_why(tmp_path, penguins_examples, penguins_model):
    evaluation = str(tmp_path / "eval")
    evaluator.run(
        penguins_examples, penguins_model.model_dir, evaluation, thresholds=["accuracy>1"]
    )
    base = str(tmp_path / "serving")
    result = exporter.run(penguins_model.model_dir, base, evaluation_dir=evaluation)
    assert not result.pushed and result.export_path is None
    assert result.reason.startswith("not blessed: accuracy = ")
    assert versions(base) == []
    with open(os.path.join(base, artifacts.PUSH_FILE)) as f:
        assert json.load(f)["pushed"] is False

    forced = exporter.run(penguins_model.model_dir, base, evaluation_dir=evaluation, force=True)
    assert forced.pushed and forced.forced and forced.reason.startswith("forced")
    with open(os.path.join(forced.export_path, "assets.extra", artifacts.PUSH_FILE)) as f:
        assert json.load(f)["forced"] is True


def test_a_dir_without_a_marker_is_refused(tmp_path, penguins_model):
    with pytest.raises(FileNotFoundError, match="neither BLESSED nor NOT_BLESSED"):
        exporter.run(penguins_model.model_dir, str(tmp_path / "s"), evaluation_dir=str(tmp_path))
    with pytest.raises(ValueError, match="give the evaluation dir"):
        exporter.run(penguins_model.model_dir, str(tmp_path / "s"))


def test_export_cli_pushes_and_reports_not_pushed(
    tmp_path, penguins_model, penguins_evaluation, capsys
):
    base = tmp_path / "serving"
    argv = ["export", "--model-dir", penguins_model.model_dir, "--export-base", str(base)]
    assert main([*argv, "--evaluation", penguins_evaluation.output_dir]) == 0
    assert "Pushed global_step 300 (blessed) to " in capsys.readouterr().out
    not_blessed = tmp_path / "nb"
    not_blessed.mkdir()
    (not_blessed / artifacts.NOT_BLESSED).write_text("accuracy too low\n")
    assert main([*argv, "--evaluation", str(not_blessed)]) == 0
    assert "Not pushed: not blessed" in capsys.readouterr().out
    assert len(versions(base)) == 1
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert "give --evaluation" in capsys.readouterr().err


def test_export_cli_force_pushes_a_not_blessed_model_and_records_it(
    tmp_path, penguins_examples, penguins_model, capsys
):
    evaluation = str(tmp_path / "eval")
    evaluator.run(
        penguins_examples, penguins_model.model_dir, evaluation, thresholds=["accuracy>1"]
    )
    base = tmp_path / "serving"
    argv = ["export", "--model-dir", penguins_model.model_dir, "--export-base", str(base),
            "--evaluation", evaluation, "--force"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Pushed global_step 300 (forced (the evaluation did not bless it: ")
    push = json.loads((base / artifacts.PUSH_FILE).read_text())
    assert push["pushed"] is True and push["forced"] is True
    (version,) = versions(base)
    assert push["export_path"] == str(base / version)
    inside = json.loads((base / version / "assets.extra" / artifacts.PUSH_FILE).read_text())
    assert inside["forced"] is True


def test_export_cli_without_a_blessing_marker_exits_1(tmp_path, penguins_model, capsys):
    empty = tmp_path / "not_an_evaluation"
    empty.mkdir()
    base = tmp_path / "serving"
    argv = ["export", "--model-dir", penguins_model.model_dir, "--export-base", str(base),
            "--evaluation", str(empty)]  # fmt: skip
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip() == (
        f"tpuest export: error: FileNotFoundError: {empty} holds neither BLESSED nor "
        "NOT_BLESSED: is it an evaluator output?"
    )
    assert not base.exists()


@pytest.mark.slow
def test_export_cli_prints_each_tensorflow_warning_once(
    tmp_path, penguins_model, penguins_evaluation
):
    # A fresh process: TensorFlow's logger gets its own handler there, as in the container.
    argv = [sys.executable, "-m", "pipelines.tpuest", "export", "--model-dir",
            penguins_model.model_dir, "--evaluation", penguins_evaluation.output_dir,
            "--export-base", str(tmp_path / "serving")]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if " is deprecated " in line]
    assert warnings, "export logs TensorFlow's deprecation of build_tensor_info"
    assert all(" WARNING tensorflow: " in line for line in warnings)  # in our format
    assert len(warnings) == len({w.split(" WARNING ", 1)[1] for w in warnings})


USER_MODULE = """
import tensorflow as tf

from components import data
from components.default_model import model_fn, params  # noqa: F401 (the module's contract)
from estimator_core.export import ServingInputReceiver

params = {**params, "hidden_units": [8]}
calls = []


def make_input_fn(examples_dir, split, schema, label):
    calls.append(split)
    return data.make_input_fn(examples_dir, split, schema, label, seed=1)


def serving_input_receiver_fn(schema):
    # Raw features only: one float or string placeholder per feature.
    features = {
        c.name: tf.compat.v1.placeholder(tf.string if c.type == "string" else tf.float32, [None],
                                         name=c.name)
        for c in schema.features
    }
    return ServingInputReceiver(features, features)
"""


def test_a_user_module_drives_training_evaluation_and_serving(tmp_path, penguins_examples):
    module_path = tmp_path / "my_model.py"
    module_path.write_text(textwrap.dedent(USER_MODULE))
    model = trainer.run(
        penguins_examples, str(tmp_path / "m"), train_steps=20, module_file=str(module_path)
    )
    assert model.module_sha256 and model.module_file == str(module_path)
    assert dict(tf.train.list_variables(model.model_dir))["hidden_0/kernel"][1] == 8
    evaluation = evaluator.run(penguins_examples, model.model_dir, str(tmp_path / "e"))
    assert evaluation.blessed  # the module recorded in trainer.json was used again
    result = exporter.run(model.model_dir, str(tmp_path / "s"), evaluation_dir=str(tmp_path / "e"))
    signature = tf.saved_model.load(result.export_path).signatures["serving_default"]
    assert set(signature.structured_input_signature[1]) == {
        c for c in raw_penguin_rows(1) if c != "species"
    }


def chain_pipeline():
    """prepare -> train -> evaluate -> export, plus a rejected evaluation and its skipped export."""
    from typing import NamedTuple

    from kfp import dsl

    from components.evaluator.component import evaluator as evaluator_op
    from components.exporter.component import exporter as exporter_op
    from components.prepare.component import prepare as prepare_op
    from components.trainer.component import trainer as trainer_op

    class Outputs(NamedTuple):
        examples: dsl.Dataset
        model: dsl.Model
        evaluation: dsl.Artifact
        metrics: dsl.Metrics
        classification: dsl.ClassificationMetrics
        blessing: dsl.Artifact
        blessed: bool
        pushed_model: dsl.Model
        pushed: bool
        rejected: bool
        skipped_model: dsl.Model
        skipped: bool

    @dsl.pipeline(name="components-chain")
    def chain(csv: str) -> Outputs:
        examples = prepare_op(input_pattern=csv, label="species").outputs["examples"]
        train = trainer_op(
            examples=examples, train_steps=200, seed=0, params={"hidden_units": [16]}
        )
        model = train.outputs["model"]
        evaluation = evaluator_op(
            examples=examples, model=model, thresholds=["accuracy>=0.9"], slice_by=["island"]
        )
        push = exporter_op(model=model, blessing=evaluation.outputs["blessing"])
        rejected = evaluator_op(examples=examples, model=model, thresholds=["accuracy>1"])
        skipped = exporter_op(model=model, blessing=rejected.outputs["blessing"])
        return Outputs(
            examples=examples,
            model=model,
            evaluation=evaluation.outputs["evaluation"],
            metrics=evaluation.outputs["metrics"],
            classification=evaluation.outputs["classification_metrics"],
            blessing=evaluation.outputs["blessing"],
            blessed=evaluation.outputs["Output"],
            pushed_model=push.outputs["pushed_model"],
            pushed=push.outputs["Output"],
            rejected=rejected.outputs["Output"],
            skipped_model=skipped.outputs["pushed_model"],
            skipped=skipped.outputs["Output"],
        )

    return chain


@pytest.mark.slow
def test_prepare_train_evaluate_export_as_a_kfp_local_pipeline(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # kfp.local leaves its temp dirs here
    from kfp import local

    from components.datasets import penguins_csv

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    out = chain_pipeline()(csv=penguins_csv()).outputs

    model, examples = out["model"], out["examples"]
    assert tf.train.latest_checkpoint(model.path).endswith("model.ckpt-200")
    assert model.metadata["global_step"] == 200 and model.metadata["loss"] < 0.5
    assert model.metadata["module_file"] == "components.default_model"
    assert model.metadata["params"] == {"hidden_units": [16]}
    assert model.metadata["examples"] == examples.uri
    assert model.metadata["steps_per_sec"] > 0
    # Code provenance: the built-in module has no file hash, so the version and image say it.
    assert model.metadata["module_sha256"] == ""
    assert model.metadata["tpuest_version"] == metadata.version("tpuest")
    assert model.metadata["image"] == image()

    assert out["blessed"] is True
    metrics = out["metrics"]
    assert metrics.metadata["accuracy"] >= 0.9
    with open(metrics.path) as f:
        assert json.load(f)["example_count"] == 55
    confusion = out["classification"].metadata["confusionMatrix"]
    assert [c["displayName"] for c in confusion["annotationSpecs"]] == [
        "Adelie", "Chinstrap", "Gentoo"
    ]  # fmt: skip
    assert os.path.exists(os.path.join(out["blessing"].path, artifacts.BLESSED))
    assert os.path.exists(os.path.join(out["evaluation"].path, artifacts.SLICES_FILE))

    assert out["pushed"] is True
    pushed_model = out["pushed_model"]
    export_path = pushed_model.metadata["export_path"]
    assert os.path.dirname(export_path) == pushed_model.path
    assert "serving_default:raw" in tf.saved_model.load(export_path).signatures

    assert out["rejected"] is False and out["skipped"] is False
    assert out["skipped_model"].metadata["pushed"] is False
    assert versions(out["skipped_model"].path) == []


def test_the_evaluated_checkpoint_is_exported_not_a_newer_one(tmp_path, penguins_examples):
    model_dir = str(tmp_path / "m")
    trainer.run(penguins_examples, model_dir, train_steps=10, save_checkpoints_steps=10)
    evaluator.run(penguins_examples, model_dir, str(tmp_path / "e"))
    trainer.run(penguins_examples, model_dir, train_steps=20, save_checkpoints_steps=10)
    result = exporter.run(model_dir, str(tmp_path / "s"), evaluation_dir=str(tmp_path / "e"))
    assert result.global_step == 10 and result.checkpoint.endswith("model.ckpt-10")
