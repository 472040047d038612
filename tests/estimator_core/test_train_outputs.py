"""What training leaves behind and how it ends: checkpoints by time, log lines, clean stops."""

import glob
import logging
import time

import numpy as np
import pytest
import tensorflow as tf

from estimator_core import NanLossError, TPUEstimatorSpec, WarmStartSettings

from .fakes import estimator, finite_input_fn, linear_model_fn, train_input_fn

v1 = tf.compat.v1


def steps_of(model_dir):
    return sorted(
        int(p.split("-")[-1].split(".")[0]) for p in glob.glob(f"{model_dir}/model.ckpt-*.index")
    )


class StopAfter(v1.train.SessionRunHook):
    """Raises StopIteration from after_run on its n-th call, as a generator-driven hook may."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def after_run(self, run_context, run_values):
        self.calls += 1
        if self.calls == self.n:
            raise StopIteration


class SlowHook(v1.train.SessionRunHook):
    def after_run(self, run_context, run_values):
        time.sleep(0.6)


def test_checkpoints_by_seconds_land_on_loop_boundaries(tmp_path):
    est = estimator(tmp_path, iterations=2, save_checkpoints_secs=1)
    est.train(train_input_fn(), steps=12, hooks=[SlowHook()])
    saved = steps_of(tmp_path)
    assert len(saved) > 3 and saved[-1] == 12
    assert all(step % 2 == 0 for step in saved)


def test_loss_and_rate_are_logged_every_log_step_count_steps(tmp_path, caplog):
    est = estimator(tmp_path, iterations=5, log_step_count_steps=5)
    with caplog.at_level(logging.INFO, logger="estimator_core"):
        est.train(train_input_fn(), max_steps=10)
    for step in (5, 10):
        assert any(
            f"global_step {step}: loss = " in r.message and "steps/s" in r.message
            for r in caplog.records
        )


def test_none_cadences_turn_loss_logging_and_summaries_off(tmp_path, caplog):
    """RunConfig(log_step_count_steps=None, save_summary_steps=None), as the original took them."""
    est = estimator(tmp_path, iterations=5, log_step_count_steps=None, save_summary_steps=None)
    with caplog.at_level(logging.INFO, logger="estimator_core"):
        est.train(train_input_fn(), max_steps=10)
    assert est.get_variable_value("global_step") == 10
    assert not any("loss = " in r.message for r in caplog.records)
    tags = {
        v.tag
        for path in glob.glob(f"{tmp_path}/events.out.tfevents.*")
        for event in tf.compat.v1.train.summary_iterator(path)
        for v in event.summary.value
    }
    assert "loss" not in tags


def test_an_infinite_loss_stops_naming_the_step(tmp_path):
    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        gs = v1.train.get_global_step()
        loss = spec.loss + tf.where(gs >= 4, np.float32(np.inf), np.float32(0.0))
        with tf.control_dependencies([loss]):
            train_op = tf.group(spec.train_op)
        return TPUEstimatorSpec(mode, loss=loss, train_op=train_op)

    est = estimator(tmp_path, model_fn=model_fn, iterations=2, save_checkpoints_steps=2)
    with pytest.raises(NanLossError, match="global step 5"):
        est.train(train_input_fn(), max_steps=20)
    assert steps_of(tmp_path)[-1] == 4


def test_stop_iteration_from_a_hook_ends_training_with_a_final_checkpoint(tmp_path):
    est = estimator(tmp_path, iterations=3)
    assert est.train(train_input_fn(), steps=30, hooks=[StopAfter(2)]) is est
    assert est.get_variable_value("global_step") == 6
    assert steps_of(tmp_path)[-1] == 6


def test_stop_iteration_ends_evaluation_and_prediction_cleanly(tmp_path):
    est = estimator(tmp_path).train(train_input_fn(), steps=2)
    metrics = est.evaluate(finite_input_fn(), hooks=[StopAfter(3)])
    assert metrics["global_step"] == 2 and 0.0 <= metrics["accuracy"] <= 1.0
    predictions = list(est.predict(finite_input_fn(labels=False), hooks=[StopAfter(2)]))
    assert len(predictions) == 8  # the first batch of 8; the second run's batch is dropped


def test_warm_start_from_a_checkpoint_prefix_and_a_variable_regex(tmp_path):
    source = estimator(tmp_path / "src").train(train_input_fn(), max_steps=10)
    source.train(train_input_fn(), max_steps=20)
    prefix = f"{tmp_path / 'src'}/model.ckpt-10"
    at_10 = tf.train.load_checkpoint(prefix).get_tensor("w")

    from_prefix = estimator(tmp_path / "a", warm_start_from=prefix, params={"lr": 0.0})
    from_prefix.train(train_input_fn(), steps=1)
    np.testing.assert_allclose(from_prefix.get_variable_value("w"), at_10, atol=1e-6)

    only_w = WarmStartSettings(str(tmp_path / "src"), vars_to_warm_start="^w$")
    partial = estimator(tmp_path / "b", warm_start_from=only_w, params={"lr": 0.0})
    partial.train(train_input_fn(), steps=1)
    np.testing.assert_allclose(
        partial.get_variable_value("w"), source.get_variable_value("w"), atol=1e-6
    )
    np.testing.assert_array_equal(partial.get_variable_value("b"), np.zeros(3))


class GlobalStepSeen(v1.train.SessionRunHook):
    """A user's hook reading the global step the usual way."""

    def __init__(self):
        self.seen = []

    def before_run(self, run_context):
        return v1.train.SessionRunArgs(v1.train.get_global_step())

    def after_run(self, run_context, run_values):
        self.seen.append(int(run_values.results))


def test_hooks_reading_the_global_step_see_it_after_each_loop(tmp_path):
    seen = GlobalStepSeen()
    estimator(tmp_path, iterations=5).train(train_input_fn(), steps=20, hooks=[seen])
    assert seen.seen == [5, 10, 15, 20]


def test_stop_at_step_hook_stops_at_its_step_not_a_loop_later(tmp_path):
    est = estimator(tmp_path, iterations=5)
    est.train(train_input_fn(), hooks=[v1.train.StopAtStepHook(last_step=10)])
    assert est.get_variable_value("global_step") == 10
    assert steps_of(tmp_path)[-1] == 10
