"""Attacks on the exporter (issue 23 item 2): only the weights a blessing judged are pushed."""

import os
import shutil

import pytest

from components import blessing, checkpoints, evaluator, exporter, trainer
from tests.components import penguins_fixtures

penguins_examples = penguins_fixtures.penguins_examples


@pytest.fixture(scope="module")
def two_models(tmp_path_factory, penguins_examples):
    """Models A and B with the same checkpoint names (model.ckpt-5) but other weights."""
    root = tmp_path_factory.mktemp("two")
    a = trainer.run(penguins_examples, str(root / "a"), train_steps=5, seed=1)
    b = trainer.run(penguins_examples, str(root / "b"), train_steps=5, seed=2)
    return a.model_dir, b.model_dir


def test_another_model_s_blessing_is_refused_naming_the_blessed_model(
    tmp_path, penguins_examples, two_models
):
    a, b = two_models
    evaluation = str(tmp_path / "eval_a")
    assert evaluator.run(penguins_examples, a, evaluation).blessed
    with pytest.raises(blessing.BlessingMismatchError, match=f"is for the model {a} "):
        exporter.run(b, str(tmp_path / "serving"), evaluation_dir=evaluation)
    assert not os.path.exists(tmp_path / "serving")
    pushed = exporter.run(a, str(tmp_path / "serving"), evaluation_dir=evaluation)
    assert pushed.pushed and pushed.reason == "blessed"


def test_force_pushes_other_weights_as_forced_not_blessed(tmp_path, penguins_examples, two_models):
    a, b = two_models
    evaluation = str(tmp_path / "eval_a")
    evaluator.run(penguins_examples, a, evaluation)
    result = exporter.run(b, str(tmp_path / "serving"), evaluation_dir=evaluation, force=True)
    assert result.pushed and result.forced and "is for the model" in result.reason


def test_a_checkpoint_file_naming_another_dir_is_evaluated_on_this_dir_s_weights(
    tmp_path, penguins_examples, two_models
):
    a, b = two_models
    copy = str(tmp_path / "b")
    shutil.copytree(b, copy)
    with open(os.path.join(copy, "checkpoint"), "w") as f:  # points at A's weights
        f.write(f'model_checkpoint_path: "{a}/model.ckpt-5"\n')
    evaluation = str(tmp_path / "eval")
    result = evaluator.run(penguins_examples, copy, evaluation)
    own = os.path.join(copy, "model.ckpt-5")
    assert result.checkpoint == own
    assert blessing.blessed_model(evaluation)["digest"] == checkpoints.digest(own)
    pushed = exporter.run(copy, str(tmp_path / "serving"), evaluation_dir=evaluation)
    assert pushed.checkpoint == own


def test_a_checkpoint_file_naming_weights_the_dir_lacks_is_refused(tmp_path, two_models):
    a, b = two_models
    copy = str(tmp_path / "b")
    shutil.copytree(b, copy)
    with open(os.path.join(copy, "checkpoint"), "w") as f:
        f.write(f'model_checkpoint_path: "{a}/model.ckpt-7"\n')
    os.link(os.path.join(b, "model.ckpt-5.index"), os.path.join(a, "model.ckpt-7.index"))
    try:
        with pytest.raises(FileNotFoundError, match="refusing to use another directory's"):
            checkpoints.latest(copy)
    finally:
        os.remove(os.path.join(a, "model.ckpt-7.index"))


def test_a_blessing_without_a_model_identity_is_refused(tmp_path, penguins_examples, two_models):
    a, _ = two_models
    evaluation = tmp_path / "eval"
    evaluator.run(penguins_examples, a, str(evaluation))
    record = evaluation / "blessing.json"
    import json

    data = json.loads(record.read_text())
    del data["model"]
    record.write_text(json.dumps(data))
    with pytest.raises(blessing.BlessingMismatchError, match="does not say which weights"):
        exporter.run(a, str(tmp_path / "serving"), evaluation_dir=str(evaluation))


def test_a_marker_only_tfx_blessing_exports_with_a_warning(tmp_path, two_models, caplog):
    """TFX's ModelBlessing holds only BLESSED: no identity to check, so a warning says so."""
    a, _ = two_models
    tfx_blessing = tmp_path / "Evaluator" / "blessing" / "6"
    tfx_blessing.mkdir(parents=True)
    (tfx_blessing / "BLESSED").write_text("")
    with caplog.at_level("WARNING", logger="components.blessing"):
        pushed = exporter.run(a, str(tmp_path / "serving"), evaluation_dir=str(tfx_blessing))
    assert pushed.pushed and pushed.reason == "blessed"
    assert "marker-only blessing" in caplog.text


def test_not_blessed_pushes_nothing_and_says_why(tmp_path, penguins_examples, two_models):
    a, _ = two_models
    evaluation = str(tmp_path / "eval")
    evaluator.run(penguins_examples, a, evaluation, thresholds=["accuracy>=1.01"])
    result = exporter.run(a, str(tmp_path / "serving"), evaluation_dir=evaluation)
    assert not result.pushed and result.reason.startswith("not blessed: accuracy")
