"""Train-and-evaluate rounds (train 100 steps + evaluate 10 batches, ten rounds): the engine, whose
graphs persist across calls, vs the legacy TPUEstimator, which rebuilds them every call.

Run: python -m bench.rounds [--legacy-python /work/legacy-venv/bin/python]   (goal: >= 3x faster)
Without --legacy-python, the engine with persistent graphs is compared with itself rebuilding
(a new input_fn object per call), which is what the legacy estimator always does.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import tensorflow as tf

from bench import train_throughput as tt
from bench.scratch import cleaned_up

v1 = tf.compat.v1


def engine_rounds(rounds: int = 10, reuse: bool = True) -> float:
    from estimator_core import RunConfig, TPUConfig, TPUEstimator, TPUEstimatorSpec

    x, y = tt._data()

    def model_fn(features, labels, mode):
        logits = tt._mlp(features)
        loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
        op = v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=v1.train.get_global_step())

        def metric_fn(labels, logits):
            return {"acc": v1.metrics.accuracy(labels, tf.argmax(logits, 1))}

        return TPUEstimatorSpec(
            mode, loss=loss, train_op=op, eval_metrics=(metric_fn, [labels, logits])
        )

    def train_fn():
        return lambda params: tt._input(x, y, params["batch_size"])

    def eval_fn():
        return lambda params: tf.data.Dataset.from_tensor_slices((x[:1280], y[:1280])).batch(
            params["batch_size"]
        )

    config = RunConfig(
        model_dir=tempfile.mkdtemp(prefix="bench_rounds_"),
        tpu_config=TPUConfig(100),
        save_summary_steps=10**9,
        log_step_count_steps=10**9,
    )
    est = TPUEstimator(
        model_fn, config=config, use_tpu=False, train_batch_size=tt.BATCH, eval_batch_size=tt.BATCH
    )
    shared_train, shared_eval = train_fn(), eval_fn()
    start = time.perf_counter()
    for _ in range(rounds):
        est.train(shared_train if reuse else train_fn(), steps=100)
        est.evaluate(shared_eval if reuse else eval_fn(), steps=10)
    return time.perf_counter() - start


@cleaned_up
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--legacy-python", help="a Python with tensorflow-estimator 2.15 (see bench/legacy_peer.py)"
    )
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    engine = engine_rounds(args.rounds, reuse=True)
    result = {
        "engine (persistent graphs)": engine,
        "engine rebuilding each call": engine_rounds(args.rounds, reuse=False),
    }
    if args.legacy_python:
        from bench.legacy_peer import measure

        result["legacy TPUEstimator 2.15"] = measure(args.legacy_python, rounds=args.rounds)[
            "rounds_secs"
        ]
    for name, secs in result.items():
        print(f"{name:>28} {secs:8.2f} s   {secs / engine:6.2f}x the engine's time")
    return result


if __name__ == "__main__":
    main()
