"""What runs in the in-graph loop, what falls back to one session.run per step, and the events,
logs and restore report a training run leaves, as the original TPUEstimator left them."""

import dataclasses
import glob
import logging

import numpy as np
import pytest
import tensorflow as tf

from estimator_core import ModeKeys, RunConfig, TPUConfig, TPUEstimator, TPUEstimatorSpec
from estimator_core.train_graph import build_train_graph

from . import compat_models
from .fakes import estimator, finite_input_fn, linear_model_fn, train_input_fn
from .test_train import CountingHook

v1 = tf.compat.v1


def random_initial_value_model_fn(features, labels, mode, params):
    w = tf.Variable(tf.random.normal([4, 3], seed=1), name="w")
    logits = tf.matmul(features["x"], w)
    if mode == ModeKeys.PREDICT:
        return TPUEstimatorSpec(mode, predictions={"logits": logits})
    loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss, v1.train.get_global_step())
    v1.summary.scalar("my_loss", loss)
    return TPUEstimatorSpec(mode, loss=loss, train_op=train_op)


def fallback_lines(caplog):
    return [r.getMessage() for r in caplog.records if "top level of the graph" in r.getMessage()]


def test_a_constant_initial_value_is_lifted_and_stays_in_the_loop(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="estimator_core")
    est = TPUEstimator(
        compat_models.constant_tensor_initializer(__import__("estimator_core")),
        config=RunConfig(model_dir=str(tmp_path), tpu_config=TPUConfig(3)),
        use_tpu=False,
        train_batch_size=8,
    )
    tg = build_train_graph(est._ctx, compat_models.train_input_fn, warm_start=False)
    assert tg.in_loop and not fallback_lines(caplog)
    assert "While" in {op.type for op in tg.graph.get_operations()}


def test_a_computed_initial_value_falls_back_with_one_line_naming_it(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="estimator_core")
    hook = CountingHook()
    est = estimator(tmp_path, random_initial_value_model_fn, iterations=5)
    est.train(train_input_fn(), steps=30, hooks=[hook])
    lines = fallback_lines(caplog)
    assert len(lines) == 1
    assert "variable 'w'" in lines[0] and "random_normal" in lines[0]
    assert "initializer=" in lines[0]  # how to get the loop back
    # Hooks still run once per loop of iterations_per_loop steps.
    assert hook.calls["after"] == 6
    assert est.get_variable_value("global_step") == 30
    assert est.evaluate(finite_input_fn())["global_step"] == 30


def test_on_tpu_a_model_fn_that_cannot_live_in_the_loop_is_a_clear_error(tmp_path):
    est = TPUEstimator(
        random_initial_value_model_fn,
        config=RunConfig(model_dir=str(tmp_path), tpu_config=TPUConfig(5, 2)),
        use_tpu=True,
        train_batch_size=8,
    )
    ctx = dataclasses.replace(est._ctx, tpu_target="grpc://10.0.0.2:8470")
    with pytest.raises(ValueError, match="on TPU, model_fn must fit.*variable 'w'.*initializer"):
        build_train_graph(ctx, train_input_fn(), warm_start=False)


def events(directory):
    found = {}
    for path in sorted(glob.glob(f"{directory}/events.out.tfevents.*")):
        for event in v1.train.summary_iterator(path):
            for value in event.summary.value:
                found.setdefault(value.tag, []).append((event.step, value))
    return found


@pytest.mark.parametrize("model_fn", [linear_model_fn, random_initial_value_model_fn])
def test_a_30_step_run_writes_a_loss_curve_and_logs_like_the_original(tmp_path, caplog, model_fn):
    caplog.set_level(logging.INFO, logger="estimator_core")
    est = estimator(
        tmp_path, model_fn, iterations=5, save_summary_steps=10, log_step_count_steps=10
    )
    est.train(train_input_fn(), steps=30)
    tags = events(tmp_path)
    # loss at the first loop, then every save_summary_steps (at loop ends).
    assert [step for step, _ in tags["loss"]] == [5, 15, 25]
    assert [step for step, _ in tags["my_loss"]] == [5, 15, 25]
    assert [step for step, _ in tags["global_step/sec"]] == [10, 20, 30]
    for (_, rate), (_, examples) in zip(tags["global_step/sec"], tags["examples/sec"]):
        assert examples.simple_value == pytest.approx(8 * rate.simple_value, rel=1e-5, abs=1e-6)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("loss = ") and m.endswith("step = 5") for m in messages)
    final = np.float32(est.last_train_result["loss"])  # printed as the original: float32's str
    assert f"Loss for final step: {final!s}." in messages


def test_evaluation_events_carry_the_checkpoint_path(tmp_path):
    est = estimator(tmp_path, iterations=2)
    est.train(train_input_fn(), steps=4)
    est.evaluate(finite_input_fn())
    (step, value), = events(tmp_path / "eval")["checkpoint_path"]  # fmt: skip
    assert step == 4
    assert tf.make_ndarray(value.tensor).item().decode() == str(tmp_path / "model.ckpt-4")


@pytest.mark.parametrize("in_scaffold", [False, True])
def test_restore_report_counts_init_from_checkpoint_as_warm_started(tmp_path, caplog, in_scaffold):
    import estimator_core

    source = compat_models.write_source_checkpoint(str(tmp_path / "source"))
    model_fn = compat_models.init_from_checkpoint_in_model_fn(estimator_core, source, in_scaffold)
    caplog.set_level(logging.INFO, logger="estimator_core")
    est = TPUEstimator(
        model_fn,
        config=RunConfig(model_dir=str(tmp_path / "m"), tpu_config=TPUConfig(2)),
        use_tpu=False,
        train_batch_size=8,
    )
    est.train(compat_models.train_input_fn, steps=2)
    reports = [r.getMessage() for r in caplog.records if "freshly initialized" in r.getMessage()]
    assert reports == [
        f"restored 0 variables (no checkpoint); warm-started 2 from {source}; freshly initialized 1"
    ]
    assert not np.allclose(est.get_variable_value("w"), 0.0)
