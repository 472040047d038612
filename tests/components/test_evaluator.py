"""The evaluator: metrics, confusion matrix, slices and blessing files, and `tpuest evaluate`."""

import json
import os

import pytest

from components import artifacts, evaluator, trainer
from components.blessing import Threshold, decide, lower_is_better
from components.evaluator import analysis
from pipelines.tpuest import main
from tests.components import penguins_fixtures

penguins_examples = penguins_fixtures.penguins_examples
penguins_model = penguins_fixtures.penguins_model
penguins_evaluation = penguins_fixtures.penguins_evaluation
binary_examples = penguins_fixtures.binary_examples

EVAL_ROWS = 55  # the eval split of penguins.csv


def read(directory, name):
    with open(os.path.join(directory, name)) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def weak_model(tmp_path_factory, penguins_examples):
    """Two training steps: clearly worse than penguins_model."""
    out = str(tmp_path_factory.mktemp("weak") / "model")
    return trainer.run(
        penguins_examples, out, train_steps=2, seed=0, params={"learning_rate": 1e-4}
    )


def test_metrics_file_holds_every_metric_loss_step_and_count(penguins_evaluation):
    out = penguins_evaluation.output_dir
    data = read(out, artifacts.METRICS_FILE)
    assert data["global_step"] == penguins_fixtures.TRAIN_STEPS
    assert data["example_count"] == EVAL_ROWS
    assert data["metrics"]["accuracy"] > 0.9  # the default model learns penguins
    assert data["loss"] == data["metrics"]["loss"]
    for species in ("Adelie", "Chinstrap", "Gentoo"):
        assert 0 <= data["metrics"][f"precision/{species}"] <= 1
        assert 0 <= data["metrics"][f"recall/{species}"] <= 1
    assert data["checkpoint"].endswith(f"model.ckpt-{penguins_fixtures.TRAIN_STEPS}")
    assert not [f for f in os.listdir(out) if ".tmp-" in f]  # every file renamed into place


def test_confusion_matrix_agrees_with_accuracy(penguins_evaluation):
    confusion = read(penguins_evaluation.output_dir, artifacts.CONFUSION_FILE)
    assert confusion["labels"] == ["Adelie", "Chinstrap", "Gentoo"]
    matrix = confusion["matrix"]
    total = sum(map(sum, matrix))
    assert total == EVAL_ROWS
    diagonal = sum(matrix[i][i] for i in range(3))
    assert diagonal / total == pytest.approx(penguins_evaluation.metrics["accuracy"], abs=1e-6)
    assert "roc_curve" not in confusion  # three classes


def test_slices_cover_the_eval_split_with_the_models_own_metrics(penguins_evaluation):
    slices = read(penguins_evaluation.output_dir, artifacts.SLICES_FILE)
    islands = slices["island"]
    assert set(islands) == {"Biscoe", "Dream", "Torgersen"}
    assert sum(s["example_count"] for s in islands.values()) == EVAL_ROWS
    for metrics in islands.values():
        assert {"accuracy", "loss", "recall/Gentoo"} <= set(metrics)
    events = os.listdir(os.path.join(penguins_evaluation.output_dir, "tensorboard"))
    assert "eval" in events and "eval_island=Biscoe" in events


def test_first_run_without_checks_is_blessed_with_the_reason(penguins_evaluation):
    out = penguins_evaluation.output_dir
    assert os.path.exists(os.path.join(out, artifacts.BLESSED))
    assert not os.path.exists(os.path.join(out, artifacts.NOT_BLESSED))
    record = read(out, artifacts.BLESSING_FILE)
    assert record["blessed"] is True and record["checks"] == []
    assert "no thresholds and no baseline" in record["reason"] and "first run" in record["reason"]


def test_failed_threshold_is_not_blessed_and_replaces_a_stale_blessing(
    tmp_path, penguins_examples, penguins_model
):
    out = str(tmp_path / "eval")
    first = evaluator.run(penguins_examples, penguins_model.model_dir, out)
    assert first.blessed and os.path.exists(os.path.join(out, artifacts.BLESSED))
    result = evaluator.run(
        penguins_examples,
        penguins_model.model_dir,
        out,
        thresholds=["accuracy>=0.5", "loss<0.000001"],
    )
    assert not result.blessed
    assert os.path.exists(os.path.join(out, artifacts.NOT_BLESSED))
    assert not os.path.exists(os.path.join(out, artifacts.BLESSED))
    checks = read(out, artifacts.BLESSING_FILE)["checks"]
    assert [c["passed"] for c in checks] == [True, False]
    assert checks[1]["value"] == pytest.approx(result.metrics["loss"], abs=1e-6)
    assert "loss<1e-06 fails" in result.reason


def test_candidate_worse_than_the_baseline_is_not_blessed(
    tmp_path, penguins_examples, penguins_model, weak_model
):
    result = evaluator.run(
        penguins_examples,
        weak_model.model_dir,
        str(tmp_path / "eval"),
        baseline_model_dir=penguins_model.model_dir,
    )
    assert not result.blessed
    (check,) = result.checks
    assert check["kind"] == "baseline" and check["direction"] == "higher is better"
    assert check["candidate"] < check["baseline"] == result.baseline_metrics["accuracy"]
    assert "accuracy: candidate" in result.reason and "worse" in result.reason


def test_tolerance_and_loss_direction(tmp_path, penguins_examples, penguins_model, weak_model):
    tolerant = evaluator.run(
        penguins_examples,
        weak_model.model_dir,
        str(tmp_path / "a"),
        baseline_model_dir=penguins_model.model_dir,
        tolerance=1.0,
    )
    assert tolerant.blessed
    better_loss = evaluator.run(
        penguins_examples,
        penguins_model.model_dir,
        str(tmp_path / "b"),
        baseline_model_dir=weak_model.model_dir,
        compare_metric="loss",
    )
    assert better_loss.blessed and better_loss.checks[0]["direction"] == "lower is better"


@pytest.fixture(scope="module")
def binary_model(tmp_path_factory, binary_examples):
    out = str(tmp_path_factory.mktemp("binary_model") / "model")
    return trainer.run(binary_examples, out, train_steps=100, seed=0)


def test_binary_labels_get_auc_and_a_roc_curve(tmp_path, binary_examples, binary_model):
    result = evaluator.run(binary_examples, binary_model.model_dir, str(tmp_path / "eval"))
    assert result.metrics["auc"] > 0.9
    roc = read(result.output_dir, artifacts.CONFUSION_FILE)["roc_curve"]
    assert len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"])
    assert (roc["fpr"][0], roc["tpr"][-1]) == (0.0, 1.0)


def test_kfp_component_logs_a_roc_curve_for_binary_labels(tmp_path, binary_examples, binary_model):
    from kfp import dsl

    from components.evaluator.component import evaluator as evaluator_op

    def local(cls, path):
        return cls(uri=str(path))

    classification = local(dsl.ClassificationMetrics, tmp_path / "classification")
    blessed = evaluator_op.python_func(
        examples=local(dsl.Dataset, binary_examples),
        model=local(dsl.Model, binary_model.model_dir),
        evaluation=local(dsl.Artifact, tmp_path / "evaluation"),
        metrics=local(dsl.Metrics, tmp_path / "metrics"),
        classification_metrics=classification,
        blessing=local(dsl.Artifact, tmp_path / "blessing"),
    )
    assert blessed is True
    points = classification.metadata["confidenceMetrics"]
    assert points and all(
        set(p) == {"falsePositiveRate", "recall", "confidenceThreshold"} for p in points
    )
    roc = read(tmp_path / "evaluation", artifacts.CONFUSION_FILE)["roc_curve"]
    assert [p["recall"] for p in points] == roc["tpr"]
    specs = classification.metadata["confusionMatrix"]["annotationSpecs"]
    assert [s["displayName"] for s in specs] == ["Adelie", "Gentoo"]


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("accuracy>=0.9", Threshold("accuracy", ">=", 0.9)),
        (" loss <= 0.4 ", Threshold("loss", "<=", 0.4)),
        ("recall/Adelie>0.5", Threshold("recall/Adelie", ">", 0.5)),
        ("loss<1e-3", Threshold("loss", "<", 0.001)),
    ],
)
def test_threshold_parsing(text, parsed):
    assert Threshold.parse(text) == parsed


@pytest.mark.parametrize("text", ["accuracy=>0.9", "accuracy>=x", "accuracy", ">=0.9", "a==1"])
def test_bad_thresholds_name_the_form(text):
    with pytest.raises(ValueError, match="expected METRIC OP NUMBER"):
        Threshold.parse(text)


def test_decide_names_a_metric_that_was_not_computed():
    blessing = decide({"accuracy": 0.95}, [Threshold("auc", ">=", 0.9)])
    assert not blessing.blessed and "metric 'auc' not computed" in blessing.reason


def test_lower_is_better_only_for_loss_like_metrics():
    assert lower_is_better("loss") and lower_is_better("mean_squared_error")
    assert not lower_is_better("accuracy") and not lower_is_better("auc")


def test_slice_values_fold_missing_and_refuse_too_many():
    import numpy as np

    values = analysis.slice_values(np.array([b"b", b"", b"a", b"b"], dtype=object), "s")
    assert values == ["a", "b", None]
    assert analysis.slice_key(None) == "<missing>" and analysis.slice_key(2007.0) == "2007"
    with pytest.raises(ValueError, match="has 101 distinct values"):
        analysis.slice_values(np.arange(101, dtype=np.float32), "n")


def test_evaluate_cli_writes_results_and_exits_0(
    tmp_path, penguins_examples, penguins_model, capsys
):
    out = tmp_path / "eval"
    argv = ["evaluate", "--examples", penguins_examples, "--model-dir", penguins_model.model_dir,
            "--output", str(out), "--threshold", "accuracy>=0.99999", "--slice-by", "sex"]  # fmt: skip
    assert main(argv) == 0  # not blessed is still a successful evaluation
    assert "NOT BLESSED: accuracy = " in capsys.readouterr().out
    assert (out / artifacts.NOT_BLESSED).exists()
    assert set(read(out, artifacts.SLICES_FILE)["sex"]) == {"female", "male", "<missing>"}


def test_evaluate_cli_records_every_threshold_and_the_baseline_check(
    tmp_path, penguins_examples, penguins_model, weak_model
):
    out = tmp_path / "eval"
    argv = ["evaluate", "--examples", penguins_examples, "--model-dir", penguins_model.model_dir,
            "--output", str(out), "--threshold", "accuracy>=0.9", "--threshold", "loss<=0.4",
            "--baseline-model-dir", weak_model.model_dir, "--compare-metric", "loss",
            "--tolerance", "0.01"]  # fmt: skip
    assert main(argv) == 0
    checks = read(out, artifacts.BLESSING_FILE)["checks"]
    assert [c["kind"] for c in checks] == ["threshold", "threshold", "baseline"]
    assert [c["rule"] for c in checks[:2]] == ["accuracy>=0.9", "loss<=0.4"]
    assert checks[2]["metric"] == "loss" and checks[2]["tolerance"] == 0.01
    assert checks[2]["direction"] == "lower is better"
    assert all(c["passed"] for c in checks) and (out / artifacts.BLESSED).exists()


def test_evaluate_cli_evaluates_the_checkpoint_given(tmp_path, penguins_examples, penguins_model):
    out = tmp_path / "eval"
    checkpoint = os.path.join(penguins_model.model_dir, "model.ckpt-0")
    argv = ["evaluate", "--examples", penguins_examples, "--model-dir", penguins_model.model_dir,
            "--output", str(out), "--checkpoint", checkpoint]  # fmt: skip
    assert main(argv) == 0
    data = read(out, artifacts.METRICS_FILE)
    assert data["global_step"] == 0 and data["checkpoint"] == checkpoint


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--threshold", "accuracy=>x"], "threshold 'accuracy=>x': expected METRIC OP NUMBER"),
        (["--tolerance", "-1"], "--tolerance: must be a number >= 0, got -1.0"),
        (["--tolerance", "nan"], "--tolerance: must be a number >= 0, got nan"),
        (["--batch-size", "0"], "--batch-size: must be a positive int, got 0"),
        (["--slice-by", "nope"], "slice_by ['nope']: not features of the schema"),
        (["--slice-by", "species"], "slice_by ['species']"),
    ],
)
def test_bad_cli_values_exit_2(tmp_path, penguins_examples, penguins_model, capsys, extra, message):
    argv = ["evaluate", "--examples", penguins_examples, "--model-dir", penguins_model.model_dir,
            "--output", str(tmp_path / "e"), *extra]  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_model_dir_without_checkpoints_exits_1(tmp_path, penguins_examples, capsys):
    argv = ["evaluate", "--examples", penguins_examples, "--model-dir", str(tmp_path),
            "--output", str(tmp_path / "e")]  # fmt: skip
    assert main(argv) == 1
    assert "no checkpoint in model_dir" in capsys.readouterr().err


def test_a_baseline_without_checkpoints_is_named(tmp_path, penguins_examples, penguins_model):
    with pytest.raises(FileNotFoundError, match="baseline: no checkpoint in model_dir"):
        evaluator.run(
            penguins_examples,
            penguins_model.model_dir,
            str(tmp_path / "e"),
            baseline_model_dir=str(tmp_path / "none"),
        )
    assert not (tmp_path / "e").exists()
