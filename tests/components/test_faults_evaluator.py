"""Attacks on the evaluator (issues 22 and 23): it judges exactly the weights it names."""

import json
import os
import shutil

import pytest

from components import blessing, checkpoints, evaluator, trainer
from components.evaluator import UnknownFeatureError
from tests.components import penguins_fixtures

penguins_examples = penguins_fixtures.penguins_examples


@pytest.fixture(scope="module")
def small_model(tmp_path_factory, penguins_examples):
    return trainer.run(
        penguins_examples, str(tmp_path_factory.mktemp("small") / "m"), train_steps=5, seed=0
    )


def test_the_blessing_names_the_model_and_the_digest_of_its_weights(
    tmp_path, penguins_examples, small_model
):
    out = str(tmp_path / "eval")
    result = evaluator.run(penguins_examples, small_model.model_dir, out)
    record = json.loads((tmp_path / "eval" / "blessing.json").read_text())
    assert record["model"] == {
        "model_dir": small_model.model_dir,
        "checkpoint": result.checkpoint,
        "digest": checkpoints.digest(result.checkpoint),
    }


def test_a_checkpoint_file_naming_another_dir_does_not_swap_the_weights(
    tmp_path, penguins_examples, small_model
):
    other = trainer.run(penguins_examples, str(tmp_path / "other"), train_steps=5, seed=9)
    copy = str(tmp_path / "copy")
    shutil.copytree(small_model.model_dir, copy)
    with open(os.path.join(copy, "checkpoint"), "w") as f:
        f.write(f'model_checkpoint_path: "{other.model_dir}/model.ckpt-5"\n')
    result = evaluator.run(penguins_examples, copy, str(tmp_path / "eval"))
    assert result.checkpoint == os.path.join(copy, "model.ckpt-5")
    digest = blessing.blessed_model(str(tmp_path / "eval"))["digest"]
    assert digest == checkpoints.digest(os.path.join(small_model.model_dir, "model.ckpt-5"))
    assert digest != checkpoints.digest(os.path.join(other.model_dir, "model.ckpt-5"))


def test_a_relative_model_dir_is_judged_and_recorded_absolute(
    tmp_path, penguins_examples, small_model, monkeypatch
):
    shutil.copytree(small_model.model_dir, tmp_path / "m")
    monkeypatch.chdir(tmp_path)
    evaluator.run(penguins_examples, "m", "eval")
    model = blessing.blessed_model("eval")
    assert model["model_dir"] == str(tmp_path / "m")
    assert model["checkpoint"] == str(tmp_path / "m" / "model.ckpt-5")


def test_a_recorded_checkpoint_dir_that_is_gone_is_named(tmp_path, penguins_examples, small_model):
    copy = tmp_path / "m"
    shutil.copytree(small_model.model_dir, copy)
    record = json.loads((copy / "trainer.json").read_text())
    record["checkpoint_dir"] = str(tmp_path / "gone")
    (copy / "trainer.json").write_text(json.dumps(record))
    with pytest.raises(FileNotFoundError, match=f"no checkpoint in checkpoint_dir {tmp_path}/gone"):
        evaluator.run(penguins_examples, str(copy), str(tmp_path / "eval"))


def test_an_unknown_slice_feature_is_named(tmp_path, penguins_examples, small_model):
    with pytest.raises(UnknownFeatureError, match=r"slice_by \['nope'\]"):
        evaluator.run(
            penguins_examples, small_model.model_dir, str(tmp_path / "e"), slice_by=["nope"]
        )
    assert not (tmp_path / "e").exists()


def test_a_threshold_on_a_metric_never_computed_does_not_bless(
    tmp_path, penguins_examples, small_model
):
    result = evaluator.run(
        penguins_examples, small_model.model_dir, str(tmp_path / "e"), thresholds=["f9>=0.1"]
    )
    assert not result.blessed and "metric 'f9' not computed" in result.reason


def test_bad_parameters_are_refused_before_any_work(tmp_path, penguins_examples, small_model):
    for fields, message in [
        ({"tolerance": -1.0}, "tolerance must be a number >= 0"),
        ({"thresholds": ["accuracy=>1"]}, "expected METRIC OP NUMBER"),
        ({"batch_size": 0}, "batch_size must be a positive int"),
        ({"thresholds": "accuracy>=0.9"}, "thresholds must be a sequence of strings"),
    ]:
        with pytest.raises(ValueError, match=message):
            evaluator.run(penguins_examples, small_model.model_dir, str(tmp_path / "e"), **fields)
    assert not (tmp_path / "e").exists()
