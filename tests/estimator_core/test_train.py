import glob
import os

import numpy as np
import pytest
import tensorflow as tf

from estimator_core import ModeKeys, NanLossError, TPUEstimatorSpec

from .fakes import data, estimator, finite_input_fn, linear_model_fn, train_input_fn

v1 = tf.compat.v1


class CountingHook(v1.train.SessionRunHook):
    def __init__(self):
        self.calls = {"begin": 0, "before": 0, "after": 0, "end": 0}

    def begin(self):
        self.calls["begin"] += 1

    def before_run(self, run_context):
        self.calls["before"] += 1

    def after_run(self, run_context, run_values):
        self.calls["after"] += 1

    def end(self, session):
        self.calls["end"] += 1


def steps_of(model_dir):
    return sorted(
        int(p.split("-")[-1].split(".")[0]) for p in glob.glob(f"{model_dir}/model.ckpt-*.index")
    )


def test_steps_and_max_steps_arguments(tmp_path):
    est = estimator(tmp_path)
    with pytest.raises(ValueError, match="both steps and max_steps"):
        est.train(train_input_fn(), steps=1, max_steps=1)
    for kwargs in ({"steps": 0}, {"max_steps": -1}):
        with pytest.raises(ValueError, match="must be a positive int"):
            est.train(train_input_fn(), **kwargs)


def test_steps_are_incremental_and_max_steps_absolute(tmp_path):
    est = estimator(tmp_path, iterations=3)
    assert est.train(train_input_fn(), steps=5) is est
    assert est.latest_checkpoint().endswith("model.ckpt-5")
    est.train(train_input_fn(), steps=5)
    assert est.get_variable_value("global_step") == 10
    est.train(train_input_fn(), max_steps=7)  # already past: no step runs
    assert est.get_variable_value("global_step") == 10
    est.train(train_input_fn(), max_steps=12)
    assert est.get_variable_value("global_step") == 12


def test_numpy_step_counts_are_taken_as_ints(tmp_path):
    # ResNet-style scripts read the global step from a checkpoint (a NumPy int) and pass it on.
    est = estimator(tmp_path, iterations=2)
    est.train(train_input_fn(), max_steps=np.int64(3))
    assert est.get_variable_value("global_step") == 3
    est.train(train_input_fn(), steps=np.int32(2))
    assert est.get_variable_value("global_step") == 5
    assert est.evaluate(finite_input_fn(), steps=np.int64(1))["global_step"] == 5
    with pytest.raises(ValueError, match="max_steps must be a positive int or None, got 2.5"):
        est.train(train_input_fn(), max_steps=2.5)


def test_in_graph_loop_matches_one_session_run_per_step(tmp_path):
    looped = estimator(tmp_path / "loop", iterations=10).train(train_input_fn(), max_steps=30)
    stepped = estimator(tmp_path / "step", iterations=1).train(train_input_fn(), max_steps=30)
    for name in ("w", "b"):
        np.testing.assert_allclose(
            looped.get_variable_value(name), stepped.get_variable_value(name), rtol=1e-6, atol=1e-7
        )
    assert looped.last_train_result["loss"] == pytest.approx(
        stepped.last_train_result["loss"], rel=1e-6, abs=1e-7
    )
    # And both equal a hand-written per-step loop over the same graph ops.
    x, y = data()
    w = np.full((4, 3), 0.01, np.float32)
    b = np.zeros(3, np.float32)
    for step in range(30):
        start = (step * 8) % 96
        xb, yb = x[start : start + 8], y[start : start + 8]
        logits = xb @ w + b
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        p[np.arange(8), yb] -= 1
        w -= 0.1 * xb.T @ p / 8
        b -= 0.1 * p.sum(0) / 8
    np.testing.assert_allclose(looped.get_variable_value("w"), w, rtol=1e-4, atol=1e-6)


def test_hooks_run_once_per_loop_and_last_loop_is_shortened(tmp_path):
    hook = CountingHook()
    est = estimator(tmp_path, iterations=4)
    est.train(train_input_fn(), hooks=[hook], steps=10)  # loops of 4, 4, 2
    assert hook.calls == {"begin": 1, "before": 3, "after": 3, "end": 1}
    assert est.get_variable_value("global_step") == 10


def test_end_of_input_stops_cleanly_with_final_checkpoint(tmp_path):
    est = estimator(tmp_path, iterations=5)
    # 96 examples, batch 8: 12 steps of input although 100 were asked for.
    est.train(finite_input_fn(), steps=100)
    assert est.get_variable_value("global_step") == 12
    assert steps_of(tmp_path)[-1] == 12


def test_checkpoints_cadence_and_keep_max(tmp_path):
    est = estimator(tmp_path, iterations=2, save_checkpoints_steps=4, keep_checkpoint_max=3)
    est.train(train_input_fn(), max_steps=20)
    assert steps_of(tmp_path) == [12, 16, 20]
    assert os.path.exists(tmp_path / "checkpoint")
    reader = tf.train.load_checkpoint(str(tmp_path / "model.ckpt-20"))
    assert (
        reader.has_tensor("w") and reader.has_tensor("b") and reader.get_tensor("global_step") == 20
    )


def test_saving_listeners_are_called(tmp_path):
    class Listener(v1.train.CheckpointSaverListener):
        def __init__(self):
            self.saved = []

        def after_save(self, session, global_step_value):
            self.saved.append(global_step_value)

    listener = Listener()
    estimator(tmp_path, save_checkpoints_steps=5).train(
        train_input_fn(), max_steps=10, saving_listeners=[listener]
    )
    # Saves happen at loop boundaries (2 steps a loop): the first one at or after step 5 is 6.
    assert listener.saved == [0, 6, 10]


def read_scalars(directory):
    values = {}
    for path in glob.glob(f"{directory}/events.out.tfevents.*"):
        for event in v1.train.summary_iterator(path):
            for value in event.summary.value:
                values.setdefault(value.tag, []).append((event.step, value.simple_value))
    return values


def test_summaries_have_loss_rate_and_model_summaries(tmp_path):
    est = estimator(tmp_path, iterations=5, save_summary_steps=5, log_step_count_steps=5)
    est.train(train_input_fn(), max_steps=20)
    scalars = read_scalars(tmp_path)
    assert [s for s, _ in scalars["loss"]] == [5, 10, 15, 20]
    assert "global_step/sec" in scalars
    assert [s for s, _ in scalars["my_loss"]] == [5, 10, 15, 20]
    # The model_fn's own summary is the last step of each loop, which is the reported loss.
    assert scalars["my_loss"][-1][1] == pytest.approx(scalars["loss"][-1][1], abs=1e-6)


def test_input_fn_signatures_and_return_types(tmp_path):
    x, y = data()
    seen = {}

    def with_config(params, config):
        seen["config"] = config
        return (
            tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(params["batch_size"])
        )

    def no_args():
        return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(8)

    def tensors(params):
        return {"x": tf.constant(x[:8])}, tf.constant(y[:8])

    est = estimator(tmp_path, iterations=4)
    est.train(with_config, steps=4)
    assert seen["config"] is est.config
    est.train(no_args, steps=4)
    est.train(tensors, steps=3)
    assert est.get_variable_value("global_step") == 11
    with pytest.raises(ValueError, match="must return a tf.data.Dataset"):
        est.train(lambda params: [1, 2, 3], steps=1)


def test_resume_in_a_new_estimator_continues_from_checkpoint(tmp_path):
    estimator(tmp_path).train(train_input_fn(), max_steps=6)
    again = estimator(tmp_path)
    again.train(train_input_fn(), steps=4)
    assert again.get_variable_value("global_step") == 10


def nan_model_fn(features, labels, mode, params):
    w = v1.get_variable("w", [4, 3], initializer=v1.constant_initializer(0.01))
    gs = v1.train.get_global_step()
    logits = tf.matmul(features["x"], w)
    loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
    # From step 7 on the loss is NaN.
    loss = loss + tf.where(gs >= 6, np.float32(np.nan), np.float32(0.0))
    # The step's read of gs must happen before its increment, or the NaN step would vary.
    with tf.control_dependencies([loss]):
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(loss, global_step=gs)
    return TPUEstimatorSpec(mode, loss=loss, train_op=train_op)


def test_nan_loss_stops_naming_the_step_and_keeps_last_finite_checkpoint(tmp_path):
    est = estimator(tmp_path, model_fn=nan_model_fn, iterations=4, save_checkpoints_steps=4)
    with pytest.raises(NanLossError, match="global step 7"):
        est.train(train_input_fn(), max_steps=20)
    assert steps_of(tmp_path)[-1] == 4
    assert np.isfinite(est.get_variable_value("w")).all()


def test_train_op_must_increment_global_step(tmp_path):
    def model_fn(features, labels, mode):
        w = v1.get_variable("w", [4, 3])
        loss = v1.losses.sparse_softmax_cross_entropy(labels, tf.matmul(features["x"], w))
        return TPUEstimatorSpec(
            mode, loss=loss, train_op=v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        )

    with pytest.raises(RuntimeError, match="increment the global step"):
        estimator(tmp_path, model_fn=model_fn).train(train_input_fn(), steps=2)


def test_model_fn_may_take_any_subset_of_arguments(tmp_path):
    def model_fn(features, labels, mode, config):
        assert config.model_dir == str(tmp_path)
        return linear_model_fn(features, labels, mode, {"lr": 0.1})

    estimator(tmp_path, model_fn=model_fn).train(train_input_fn(), steps=2)


def test_warm_start_applies_only_without_own_checkpoint(tmp_path):
    source = estimator(tmp_path / "src").train(train_input_fn(), max_steps=10)
    warm = estimator(tmp_path / "warm", warm_start_from=str(tmp_path / "src"), params={"lr": 0.0})
    warm.train(train_input_fn(), steps=1)
    np.testing.assert_allclose(
        warm.get_variable_value("w"), source.get_variable_value("w"), atol=1e-6
    )
    assert warm.get_variable_value("global_step") == 1
    # Own checkpoint wins from now on: source changes are not re-applied.
    source.train(train_input_fn(), steps=10)
    warm.train(train_input_fn(), steps=1)
    assert not np.allclose(warm.get_variable_value("w"), source.get_variable_value("w"))


def test_mode_keys_values():
    assert (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT) == ("train", "eval", "infer")


RESUME_SCRIPT = """
import sys
from tests.estimator_core.fakes import estimator, train_input_fn
est = estimator(sys.argv[1], iterations=3)
est.train(train_input_fn(), steps=5)
print("STEP", est.get_variable_value("global_step"))
"""


def test_a_new_process_resumes_from_the_latest_checkpoint(tmp_path):
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3")
    for expected in (5, 10):
        proc = subprocess.run(
            [sys.executable, "-c", RESUME_SCRIPT, str(tmp_path)],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert f"STEP {expected}" in proc.stdout
    assert steps_of(tmp_path)[-1] == 10


def test_restore_report_says_what_was_restored_warm_started_or_initialized(tmp_path, caplog):
    import logging

    from estimator_core import WarmStartSettings

    def report(level):
        return [
            r.getMessage()
            for r in caplog.records
            if r.levelno == level
            and ("freshly initialized" in r.getMessage() or r.getMessage().startswith("variable "))
        ]

    caplog.set_level(logging.DEBUG, logger="estimator_core")
    estimator(tmp_path / "src").train(train_input_fn(), steps=2)
    assert report(logging.INFO) == [
        "restored 0 variables (no checkpoint); warm-started 0; freshly initialized 3"
    ]
    caplog.clear()
    source = str(tmp_path / "src" / "model.ckpt-2")
    # A regex picks trainable variables: w, not b; global_step is never warm-started.
    settings = WarmStartSettings(str(tmp_path / "src"), vars_to_warm_start="w")
    estimator(tmp_path / "warm", warm_start_from=settings).train(train_input_fn(), steps=2)
    assert report(logging.INFO) == [
        f"restored 0 variables (no checkpoint); warm-started 1 from {source}; freshly initialized 2"
    ]
    assert sorted(report(logging.DEBUG)) == [
        "variable b: freshly initialized",
        "variable global_step: freshly initialized",
        f"variable w: warm-started from {source}",
    ]
    assert "Initialized" not in caplog.text and "Warm-starting" not in caplog.text
    caplog.clear()
    own = str(tmp_path / "warm" / "model.ckpt-2")
    estimator(tmp_path / "warm", warm_start_from=settings).train(train_input_fn(), steps=2)
    assert "not applied: model_dir has its own checkpoint" in caplog.text
    assert report(logging.INFO) == [
        f"restored 3 variables from {own}; warm-started 0; freshly initialized 0"
    ]
    assert f"variable w: restored from {own}" in report(logging.DEBUG)


def test_warm_start_can_fail_when_a_variable_matches_nothing(tmp_path):
    from estimator_core import WarmStartSettings

    estimator(tmp_path / "src").train(train_input_fn(), steps=2)
    settings = WarmStartSettings(
        str(tmp_path / "src"), vars_to_warm_start="nothing_like_this", fail_on_unmatched=True
    )
    with pytest.raises(ValueError, match=r"pattern \['nothing_like_this'\] matched no variable"):
        estimator(tmp_path / "warm", warm_start_from=settings).train(train_input_fn(), steps=1)


def test_warm_start_fails_naming_every_list_entry_that_matches_nothing(tmp_path):
    import dataclasses

    from estimator_core import WarmStartSettings

    source = estimator(tmp_path / "src").train(train_input_fn(), steps=2)
    settings = WarmStartSettings(
        str(tmp_path / "src"),
        vars_to_warm_start=["w", "typo_var", "b_typo"],
        fail_on_unmatched=True,
    )
    with pytest.raises(ValueError, match=r"entries \['typo_var', 'b_typo'\] matched no variable"):
        estimator(tmp_path / "strict", warm_start_from=settings).train(train_input_fn(), steps=1)
    assert not glob.glob(str(tmp_path / "strict" / "model.ckpt-*"))  # failed before training
    # Without fail_on_unmatched the entries that match still apply.
    lenient = dataclasses.replace(settings, fail_on_unmatched=False)
    warm = estimator(tmp_path / "lenient", warm_start_from=lenient, params={"lr": 0.0})
    warm.train(train_input_fn(), steps=1)
    np.testing.assert_array_equal(warm.get_variable_value("w"), source.get_variable_value("w"))


def test_time_budget_loops_adapt_their_size(tmp_path, caplog):
    import logging

    from estimator_core.training import LoopSizer

    caplog.set_level(logging.INFO, logger="estimator_core")
    sizer = LoopSizer("1s", budget_secs=1.0, per_run_limit=None)
    assert sizer.next_size(None) == 1
    sizer.observe(1, 0.001)  # 1000 steps/s: grows, at most 10x per loop
    assert sizer.next_size(None) == 10
    sizer.observe(10, 0.01)
    assert sizer.next_size(None) == 100
    assert sizer.next_size(7) == 7  # never past the target
    assert caplog.messages == [
        "iterations_per_loop now 10 (1000.0 steps/s for a 1s budget)",
        "iterations_per_loop now 100 (1000.0 steps/s for a 1s budget)",
    ]
    caplog.clear()
    est = estimator(tmp_path, iterations="1s")
    est.train(train_input_fn(), steps=50)
    assert est.get_variable_value("global_step") == 50
    assert any(m.startswith("iterations_per_loop now ") for m in caplog.messages)


def test_logging_tensor_hook_on_the_loss_works_across_host_loops(tmp_path, caplog):
    import logging

    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        hook = v1.train.LoggingTensorHook({"the_loss": spec.loss}, every_n_iter=1)
        return spec._replace(training_hooks=(hook,))

    caplog.set_level(logging.INFO)
    caplog.set_level(logging.INFO, logger="tensorflow")  # the hook logs through TF's logger
    est = estimator(tmp_path, model_fn=model_fn, iterations=5)
    est.train(train_input_fn(), steps=10)
    assert caplog.text.count("the_loss = ") == 2  # once per loop of 5 steps

    def logits_model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        hook = v1.train.LoggingTensorHook({"logits": spec.predictions["logits"]}, every_n_iter=1)
        return spec._replace(training_hooks=(hook,))

    # Any model_fn tensor: its value at the loop's last step.
    estimator(tmp_path / "logits", model_fn=logits_model_fn).train(train_input_fn(), steps=4)
    assert caplog.text.count("logits = ") == 2


def test_logging_tensor_hook_on_the_global_step_sees_each_loops_last_step(tmp_path, caplog):
    import logging
    import re

    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        hook = v1.train.LoggingTensorHook({"spec_gs": v1.train.get_global_step()}, every_n_iter=1)
        return spec._replace(training_hooks=(hook,))

    caplog.set_level(logging.INFO, logger="tensorflow")  # the hook logs through TF's logger
    by_name = v1.train.LoggingTensorHook({"named_gs": "global_step"}, every_n_iter=1)
    est = estimator(tmp_path, model_fn=model_fn, iterations=5)
    est.train(train_input_fn(), hooks=[by_name], steps=10)
    assert re.findall(r"named_gs = (\d+)", caplog.text) == ["5", "10"]
    assert re.findall(r"spec_gs = (\d+)", caplog.text) == ["5", "10"]
