"""The legacy TPUEstimator (tensorflow-estimator 2.15, use_tpu=False) as a benchmark peer.

This file runs under a separate Python that has TensorFlow 2.15 and tensorflow-estimator 2.15
(create it with: python3.11 -m venv /work/legacy-venv && /work/legacy-venv/bin/pip install
"tensorflow==2.15.*" "tensorflow-estimator==2.15.*"). It prints one JSON line: train steps/s
(warm-up excluded) and the wall time of ten train(100)+evaluate(10 batches) rounds, for the same
MLP, batch and data as bench/train_throughput.py. `measure(python)` runs it from the main env.
"""

from __future__ import annotations

import json
import subprocess
import sys


def measure(python: str, steps: int = 1000, rounds: int = 10, variant: str = "fits") -> dict:
    """Runs this file under the legacy `python` and returns its measurements.

    `variant="fallback"` gives the MLP's variables initial values computed in model_fn
    (`tf.Variable(initializer(shape))`), the form the engine trains outside its in-graph loop;
    `variant="estimator"` trains the MLP with the plain `tf.estimator.Estimator` instead.
    """
    proc = subprocess.run(
        [python, __file__, str(steps), str(rounds), variant],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"legacy peer failed under {python}: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _run(steps: int, rounds: int, variant: str = "fits") -> dict:  # under TensorFlow 2.15
    import os
    import tempfile
    import time

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import numpy as np
    import tensorflow as tf

    v1 = tf.compat.v1
    tpu = tf.compat.v1.estimator.tpu
    rng = np.random.RandomState(0)
    x, y = rng.rand(4096, 784).astype("float32"), rng.randint(0, 10, 4096).astype("int32")

    def variable(name, shape, init):
        if variant == "fallback":
            return tf.Variable(init(shape), name=name)
        return v1.get_variable(name, shape, initializer=init)

    def model_fn(features, labels, mode, params):
        init = v1.glorot_uniform_initializer(seed=0)
        h = features
        for i, units in enumerate((256, 256)):
            w = variable(f"w{i}", [h.shape[1], units], init)
            h = tf.nn.relu(tf.matmul(h, w) + variable(f"b{i}", [units], v1.zeros_initializer()))
        logits = tf.matmul(h, variable("w_out", [256, 10], init))
        loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
        op = v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=v1.train.get_global_step())

        def metric_fn(labels, logits):
            return {"acc": v1.metrics.accuracy(labels, tf.argmax(logits, 1))}

        if variant == "estimator":
            metrics = metric_fn(labels, logits)
            return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=op, eval_metric_ops=metrics)
        return tpu.TPUEstimatorSpec(
            mode, loss=loss, train_op=op, eval_metrics=(metric_fn, [labels, logits])
        )

    def train_fn(params=None):
        ds = tf.data.Dataset.from_tensor_slices((x, y)).repeat()
        return ds.batch(128, drop_remainder=True).prefetch(4)

    def eval_fn(params=None):
        return tf.data.Dataset.from_tensor_slices((x[:1280], y[:1280])).batch(128)

    def make():
        if variant == "estimator":
            config = tf.estimator.RunConfig(
                model_dir=tempfile.mkdtemp(),
                save_checkpoints_steps=10**9,
                save_summary_steps=10**9,
                log_step_count_steps=10**9,
            )
            return tf.estimator.Estimator(model_fn, config=config)
        config = tpu.RunConfig(
            model_dir=tempfile.mkdtemp(),
            tpu_config=tpu.TPUConfig(100),
            save_checkpoints_steps=10**9,
            save_summary_steps=10**9,
            log_step_count_steps=10**9,
        )
        return tpu.TPUEstimator(
            model_fn=model_fn,
            config=config,
            use_tpu=False,
            train_batch_size=128,
            eval_batch_size=128,
        )

    class Timer(tf.estimator.SessionRunHook):
        def __init__(self):
            self.times = []

        def after_run(self, run_context, run_values):
            self.times.append(time.perf_counter())

    est, timer = make(), Timer()
    est.train(train_fn, steps=steps + 10, hooks=[timer])
    steps_per_sec = (len(timer.times) - 11) / (
        timer.times[-1] - timer.times[10]
    )  # 10 warm-up steps
    est = make()
    start = time.perf_counter()
    for _ in range(rounds):
        est.train(train_fn, steps=100)
        est.evaluate(eval_fn, steps=10)
    return {
        "steps_per_sec": steps_per_sec,
        "rounds_secs": time.perf_counter() - start,
        "tensorflow": tf.__version__,
    }


if __name__ == "__main__":
    variant = sys.argv[3] if len(sys.argv) > 3 else "fits"
    print(json.dumps(_run(int(sys.argv[1]), int(sys.argv[2]), variant)))
