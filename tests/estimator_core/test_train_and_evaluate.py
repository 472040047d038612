import collections
import glob
import json
import logging
import os
import threading

import numpy as np
import pytest
import tensorflow as tf

import estimator_core.outer_loops as outer_loops
from estimator_core import BestExporter, EvalSpec, LatestExporter, TrainSpec, train_and_evaluate
from estimator_core.export import build_raw_serving_input_receiver_fn
from estimator_core.model_dir_lock import LOCK_FILE

from .fakes import data, estimator, finite_input_fn, linear_model_fn, train_input_fn

v1 = tf.compat.v1
RAW = build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 4], tf.float32)})


class CountingHook(v1.train.SessionRunHook):
    def __init__(self, after_run=None):
        self.begins = self.afters = self.ends = 0
        self._after_run = after_run

    def begin(self):
        self.begins += 1

    def after_run(self, run_context, run_values):
        self.afters += 1
        if self._after_run:
            self._after_run()

    def end(self, session):
        self.ends += 1


class FakeClock:
    """Stands in for outer_loops' `time` module: time passes only when told (or slept)."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, secs):
        self.sleeps.append(secs)
        self.now += secs


def evaluated_steps(model_dir, name=None):
    """The global steps evaluations wrote to model_dir/eval (or eval_<name>), in order."""
    directory = os.path.join(model_dir, "eval" if name is None else f"eval_{name}")
    steps = []
    for path in sorted(glob.glob(f"{directory}/events.out.tfevents.*")):
        for event in v1.train.summary_iterator(path):
            if any(value.tag == "loss" for value in event.summary.value):
                steps.append(event.step)
    return steps


def spec(**kwargs):
    kwargs.setdefault("steps", None)
    kwargs.setdefault("start_delay_secs", 0)
    kwargs.setdefault("throttle_secs", 0)
    return EvalSpec(finite_input_fn(), **kwargs)


def test_one_training_run_evaluated_every_n_steps_with_a_final_evaluation(tmp_path):
    calls = collections.Counter()

    def model_fn(features, labels, mode, params):
        calls[mode] += 1
        return linear_model_fn(features, labels, mode, params)

    est = estimator(tmp_path, model_fn=model_fn, iterations=5)
    lock_held = []
    eval_hook = CountingHook(lambda: lock_held.append(os.path.exists(tmp_path / LOCK_FILE)))
    eval_spec = spec(
        hooks=[eval_hook],
        exporters=[
            LatestExporter("latest", RAW, exports_to_keep=2),
            BestExporter("best", RAW, metric="loss"),
        ],
    )
    result, exports = train_and_evaluate(
        est, TrainSpec(train_input_fn(), max_steps=30), eval_spec, eval_every_steps=10
    )
    assert result["global_step"] == 30
    assert evaluated_steps(tmp_path) == [10, 20, 30]
    # One train graph; one eval graph reused by all three evaluations (exports build their own).
    assert calls["train"] == 1 and calls["eval"] == 1
    # The evaluations at 10 and 20 ran inside the training run (its lock held), the final after.
    assert lock_held[0] and lock_held[12] and not lock_held[-1]
    assert len(os.listdir(tmp_path / "export" / "latest")) == 2  # older ones garbage-collected
    best = json.loads((tmp_path / "export" / "best" / "best.json").read_text())
    assert best["global_step"] == 30 and best["value"] == pytest.approx(result["loss"], abs=1e-6)
    assert len(exports) == 6  # latest and best after each of the 3 evaluations (loss improves)


def indexed_input_fn(seen):
    """96 examples in order, once; records each example index as the pipeline reads it."""
    x, y = data()

    def record(i):
        seen.append(int(i))
        return i

    def input_fn(params):
        ds = tf.data.Dataset.range(96).map(lambda i: tf.py_function(record, [i], tf.int64))
        ds = ds.map(lambda i: ({"x": tf.gather(x, i)}, tf.gather(y, i)))
        return ds.batch(params["batch_size"])

    return input_fn


@pytest.mark.parametrize("every", [None, 5])
def test_finite_input_is_read_once_through_and_training_ends_after_one_epoch(tmp_path, every):
    seen = []
    est = estimator(tmp_path, iterations=5)
    result, _ = train_and_evaluate(
        est, TrainSpec(indexed_input_fn(seen), max_steps=None), spec(), eval_every_steps=every
    )
    assert sorted(seen) == list(range(96))  # every example once, none restarted
    assert est.get_variable_value("global_step") == 12  # 96 examples / batch 8
    assert result["global_step"] == 12
    # Every 5 steps: 5 and 10 mid-training; the end of input at 12 gets the final evaluation.
    assert evaluated_steps(tmp_path) == ([5, 10, 12] if every else [12])


def test_throttle_secs_skips_evaluations_but_never_the_final_one(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="estimator_core")
    est = estimator(tmp_path, iterations=5)
    train_and_evaluate(
        est,
        TrainSpec(train_input_fn(), max_steps=30),
        spec(throttle_secs=3600),
        eval_every_steps=10,
    )
    assert evaluated_steps(tmp_path) == [10, 30]
    assert "evaluation at step 20 skipped (throttle_secs=3600)" in caplog.text


def test_start_delay_secs_does_not_hold_back_evaluations_during_training(tmp_path, monkeypatch):
    # As the original's local train_and_evaluate: start_delay_secs is for a separate evaluator.
    clock = FakeClock()
    monkeypatch.setattr(outer_loops, "time", clock)
    ticking = CountingHook(lambda: clock.sleep(10))  # each 5-step loop takes 10 "seconds"
    est = estimator(tmp_path, iterations=5)
    train_and_evaluate(
        est,
        TrainSpec(train_input_fn(), max_steps=30, hooks=[ticking]),
        spec(start_delay_secs=25),
        eval_every_steps=5,
    )
    assert evaluated_steps(tmp_path) == [5, 10, 15, 20, 25, 30]


def test_spec_name_steps_hooks_and_the_default_cadence(tmp_path):
    est = estimator(tmp_path, iterations=5, save_checkpoints_steps=10)
    train_hook, eval_hook = CountingHook(), CountingHook()
    eval_spec = spec(steps=3, name="holdout", hooks=[eval_hook])
    train_and_evaluate(
        est, TrainSpec(train_input_fn(), max_steps=30, hooks=[train_hook]), eval_spec
    )
    # Without eval_every_steps, every checkpoint RunConfig saves (every 10 steps) is evaluated.
    assert evaluated_steps(tmp_path, name="holdout") == [10, 20, 30]
    assert not os.path.exists(tmp_path / "eval")
    assert eval_hook.afters == 3 * 3 and eval_hook.ends == 3  # 3 batches per evaluation
    assert (train_hook.begins, train_hook.afters, train_hook.ends) == (1, 6, 1)  # 6 loops of 5


def test_best_exporter_skips_worse_results(tmp_path):
    est = estimator(tmp_path)
    est.train(train_input_fn(), steps=10)
    exporter = BestExporter("best", RAW, metric="accuracy", higher_is_better=True)
    base = str(tmp_path / "export" / "best")
    ckpt = est.latest_checkpoint()
    assert exporter.export(est, base, ckpt, {"accuracy": 0.8, "global_step": 10}, False)
    assert exporter.export(est, base, ckpt, {"accuracy": 0.7, "global_step": 10}, False) is None
    with pytest.raises(ValueError, match="'auc' is not in the evaluation"):
        exporter.__class__("b", RAW, metric="auc").export(est, base, ckpt, {"loss": 1.0}, False)


def test_specs_validate_their_values():
    with pytest.raises(ValueError, match="max_steps"):
        TrainSpec(train_input_fn(), max_steps=0)
    with pytest.raises(ValueError, match="steps"):
        EvalSpec(finite_input_fn(), steps=0)
    with pytest.raises(ValueError, match="start_delay_secs"):
        EvalSpec(finite_input_fn(), start_delay_secs=-1)
    with pytest.raises(ValueError, match="eval_every_steps"):
        train_and_evaluate(None, TrainSpec(train_input_fn()), spec(), eval_every_steps=0)


def test_evaluate_continuously_follows_a_trainer_until_the_final_step(tmp_path):
    trainer = estimator(tmp_path, iterations=5, save_checkpoints_steps=10)
    thread = threading.Thread(target=lambda: trainer.train(train_input_fn(), max_steps=40))
    thread.start()
    try:
        evaluator = estimator(tmp_path)
        results = evaluator.evaluate_continuously(
            finite_input_fn(), timeout_secs=120, final_step=40, poll_secs=0.05
        )
    finally:
        thread.join()
    steps = [r["global_step"] for r in results]
    assert steps == sorted(set(steps)) and steps[-1] == 40


def test_evaluate_continuously_stops_after_timeout(tmp_path):
    est = estimator(tmp_path)
    est.train(train_input_fn(), steps=4)
    results = est.evaluate_continuously(finite_input_fn(), timeout_secs=0.3, poll_secs=0.05)
    assert [r["global_step"] for r in results] == [4]


def test_evaluate_continuously_waits_start_delay_secs_before_its_first_look(tmp_path, monkeypatch):
    est = estimator(tmp_path)
    est.train(train_input_fn(), steps=4)
    clock = FakeClock()
    monkeypatch.setattr(outer_loops, "time", clock)
    evaluated_at = []
    hook = CountingHook(lambda: evaluated_at.append(clock.now))
    results = est.evaluate_continuously(
        finite_input_fn(), hooks=[hook], timeout_secs=0.3, poll_secs=0.1, start_delay_secs=30
    )
    assert [r["global_step"] for r in results] == [4]
    assert clock.sleeps[0] == 30 and min(evaluated_at) == 30
    assert np.allclose(clock.sleeps[1:], 0.1)  # then polls until the timeout
