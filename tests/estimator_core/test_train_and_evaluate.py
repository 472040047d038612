import json
import os
import threading

import pytest
import tensorflow as tf

from estimator_core import BestExporter, EvalSpec, LatestExporter, TrainSpec, train_and_evaluate
from estimator_core.export import build_raw_serving_input_receiver_fn

from .fakes import estimator, finite_input_fn, train_input_fn

RAW = build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 4], tf.float32)})


class CountingHook(tf.compat.v1.train.SessionRunHook):
    def __init__(self):
        self.ends = 0

    def end(self, session):
        self.ends += 1


def test_rounds_of_train_evaluate_export_with_a_final_evaluation(tmp_path):
    est = estimator(tmp_path, iterations=5)
    eval_hook = CountingHook()
    spec = EvalSpec(
        finite_input_fn(),
        steps=None,
        hooks=[eval_hook],
        throttle_secs=0,
        exporters=[
            LatestExporter("latest", RAW, exports_to_keep=2),
            BestExporter("best", RAW, metric="loss"),
        ],
    )
    result, exports = train_and_evaluate(
        est, TrainSpec(train_input_fn(), max_steps=30), spec, eval_every_steps=10
    )
    assert result["global_step"] == 30
    assert eval_hook.ends == 3  # after steps 10 and 20, and the final one at 30
    latest = sorted(os.listdir(tmp_path / "export" / "latest"))
    assert len(latest) == 2  # older versions garbage-collected
    best = json.loads((tmp_path / "export" / "best" / "best.json").read_text())
    assert best["global_step"] == 30 and best["value"] == pytest.approx(result["loss"])
    assert sum(1 for p in exports if "/best/" in p) >= 1


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
