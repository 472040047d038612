"""A relative model_dir resumes, evaluates and falls back exactly as an absolute one does."""

import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from estimator_core import RunConfig, TPUConfig, TPUEstimator, checkpoints
from estimator_core.export import build_raw_serving_input_receiver_fn
from estimator_core.model_dir_lock import LOCK_FILE, ModelDirLock

from .fakes import estimator, finite_input_fn, linear_model_fn, train_input_fn


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_restore_candidates_of_a_relative_model_dir_exist(in_tmp):
    estimator("out/m", iterations=5, save_checkpoints_steps=5).train(train_input_fn(), max_steps=10)
    found = checkpoints.restore_candidates("out/m")
    assert [c.rsplit("-", 1)[1] for c in found] == ["10", "5", "0"]
    for path in found:
        assert tf.io.gfile.exists(path + ".index")


def test_run_config_relative_model_dir_resumes(in_tmp):
    estimator("out/m").train(train_input_fn(), max_steps=4)
    est = estimator("out/m")
    est.train(train_input_fn(), steps=2)  # resumes at 4: 6 in all, not 2
    assert est.get_variable_value("global_step") == 6
    assert sorted(glob.glob("out/m/model.ckpt-*.index"))[-1].endswith("-6.index")


def test_estimator_relative_model_dir_resumes(in_tmp):
    def make():
        config = RunConfig(tpu_config=TPUConfig(2))
        return TPUEstimator(
            model_fn=linear_model_fn,
            model_dir="rel",
            config=config,
            use_tpu=False,
            train_batch_size=8,
            eval_batch_size=8,
        )

    make().train(train_input_fn(), steps=4)
    est = make()
    est.train(train_input_fn(), steps=2)  # resumes at 4: 6 in all, not 2
    assert est.get_variable_value("global_step") == 6
    assert est.evaluate(finite_input_fn())["global_step"] == 6


def test_relative_model_dir_falls_back_past_a_truncated_checkpoint(in_tmp):
    est = estimator("m", iterations=5, save_checkpoints_steps=5)
    est.train(train_input_fn(), max_steps=10)
    with open(glob.glob("m/model.ckpt-10.data-*")[0], "r+b") as f:
        f.truncate(4)
    est = estimator("m", iterations=5, save_checkpoints_steps=5)
    est.train(train_input_fn(), steps=2)  # resumes from model.ckpt-5, the newest readable one
    assert est.get_variable_value("global_step") == 7


def test_model_dir_lock_of_a_relative_dir_is_released_after_a_chdir(in_tmp, monkeypatch):
    (in_tmp / "elsewhere").mkdir()
    lock = ModelDirLock("m")
    with lock:
        monkeypatch.chdir(in_tmp / "elsewhere")  # e.g. a hook that changes directory
    assert not (in_tmp / "m" / LOCK_FILE).exists()


def test_relative_and_absolute_model_dirs_give_the_same_results(in_tmp):
    raw = build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 4], tf.float32)})
    results = {}
    for model_dir in ("rel", str(in_tmp / "abs")):
        est = estimator(model_dir, iterations=2, save_checkpoints_steps=2)
        est.train(train_input_fn(), max_steps=2)
        est = estimator(model_dir, iterations=2, save_checkpoints_steps=2)
        est.train(train_input_fn(), max_steps=4)
        predictions = [p["logits"] for p in est.predict(finite_input_fn(labels=False))]
        export = est.export_saved_model(os.path.join(model_dir, "export"), raw)
        results[model_dir] = (est.evaluate(finite_input_fn()), predictions, export)
    (rel_eval, rel_pred, rel_export), (abs_eval, abs_pred, abs_export) = results.values()
    assert rel_eval["global_step"] == abs_eval["global_step"] == 4
    assert rel_eval["loss"] == pytest.approx(abs_eval["loss"], abs=1e-7)
    np.testing.assert_allclose(rel_pred, abs_pred, atol=1e-7)
    assert os.path.isdir(rel_export) and os.path.isdir(abs_export)
