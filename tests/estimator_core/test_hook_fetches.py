"""A training hook may fetch any tensor model_fn builds, on the in-graph loop and per step."""

import numpy as np
import pytest
import tensorflow as tf

from .fakes import estimator, linear_model_fn, train_input_fn

v1 = tf.compat.v1


class RecordingHook(v1.train.SessionRunHook):
    """ELECTRA's progress-hook shape: fetches a dict of model_fn tensors it was given."""

    def __init__(self, to_log, record):
        self._to_log = to_log
        self._record = record

    def before_run(self, run_context):
        return v1.train.SessionRunArgs(self._to_log)

    def after_run(self, run_context, run_values):
        self._record.append(run_values.results)


def recording_model_fn(record, block_loop=False):
    def model_fn(features, labels, mode, params):
        if block_loop:
            # A non-constant initial value cannot live in the loop: steps run one at a time.
            v1.get_variable("noise", initializer=tf.random.uniform([2], seed=1))
        # The global step as this step read it, before the train_op increments it.
        step_read = tf.identity(v1.train.get_global_step()) + 0
        spec = linear_model_fn(features, labels, mode, params)
        to_log = {"loss": spec.loss, "step": step_read, "logits": spec.predictions["logits"]}
        return spec._replace(training_hooks=(RecordingHook(to_log, record),))

    return model_fn


@pytest.mark.parametrize("iterations", [1, 3])
def test_hook_fetches_model_fn_tensors_at_the_loops_last_step(tmp_path, iterations):
    record = []
    est = estimator(tmp_path, model_fn=recording_model_fn(record), iterations=iterations)
    est.train(train_input_fn(), steps=6)
    # One call per loop; the step tensor shows the loop's last step (0-based step index).
    assert [int(r["step"]) for r in record] == list(range(iterations - 1, 6, iterations))
    assert all(r["logits"].shape == (8, 3) for r in record)
    assert record[-1]["loss"] == pytest.approx(est.last_train_result["loss"], abs=1e-6)


def test_hook_fetches_model_fn_tensors_every_step_when_steps_run_one_at_a_time(tmp_path):
    record = []
    model_fn = recording_model_fn(record, block_loop=True)
    est = estimator(tmp_path, model_fn=model_fn, iterations=1)
    est.train(train_input_fn(), steps=4)
    assert [int(r["step"]) for r in record] == [0, 1, 2, 3]
    assert record[-1]["loss"] == pytest.approx(est.last_train_result["loss"], abs=1e-6)


def test_loop_and_per_step_hooks_see_the_same_values(tmp_path):
    in_loop, per_step = [], []
    estimator(tmp_path / "loop", model_fn=recording_model_fn(in_loop), iterations=1).train(
        train_input_fn(), steps=3
    )
    model_fn = recording_model_fn(per_step, block_loop=True)
    estimator(tmp_path / "step", model_fn=model_fn, iterations=1).train(train_input_fn(), steps=3)
    for a, b in zip(in_loop, per_step, strict=True):
        np.testing.assert_allclose(a["logits"], b["logits"], atol=1e-6)
        assert a["loss"] == pytest.approx(b["loss"], abs=1e-6)


def test_hook_fetches_model_fn_tensors_on_mirrored_replicas(tmp_path):
    from .test_replication import make

    record = []
    est = make(tmp_path, replicas=2, batch=8, model_fn=recording_model_fn(record), iterations=3)
    est.train(train_input_fn(), steps=6)
    # The first replica's tensors, at each loop's last step.
    assert [int(r["step"]) for r in record] == [2, 5]
    assert all(r["logits"].shape == (4, 3) for r in record)
