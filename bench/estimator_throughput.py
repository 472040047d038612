"""The plain Estimator against tensorflow-estimator 2.15's, on bench/train_throughput.py's MLP.

Train steps/s (one step per session.run with every hook called each step, as the original; and
the opt-in in-graph loop, `Estimator(iterations_per_loop=100)`), and the wall time of ten rounds
of train(100 steps) + evaluate(10 batches), each call building its graphs as the original's did.
Run: python -m bench.estimator_throughput [--legacy-python /work/legacy-venv/bin/python]
Without --legacy-python only the engine is measured.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import tensorflow as tf

from bench import legacy_peer
from bench.scratch import cleaned_up
from bench.train_throughput import BATCH, _data, _mlp

v1 = tf.compat.v1
LEGACY = "tf.estimator.Estimator 2.15"


def _model_fn(features, labels, mode):
    from estimator_core import EstimatorSpec

    logits = _mlp(features)
    loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
    op = v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=v1.train.get_global_step())
    metrics = {"acc": v1.metrics.accuracy(labels, tf.argmax(logits, 1))}
    return EstimatorSpec(mode, loss=loss, train_op=op, eval_metric_ops=metrics)


def _estimator(k: int | None):
    from estimator_core import Estimator, RunConfig

    config = RunConfig(
        model_dir=tempfile.mkdtemp(prefix="bench_"),
        save_checkpoints_steps=10**9,
        save_summary_steps=10**9,
        log_step_count_steps=10**9,
    )
    return Estimator(_model_fn, config=config, iterations_per_loop=k)


def measure(x, y, steps: int, rounds: int, k: int | None) -> dict:
    """{"steps_per_sec", "rounds_secs"} of the engine's Estimator (in-graph loop of k if set)."""

    def train_fn():
        data = tf.data.Dataset.from_tensor_slices((x, y)).repeat()
        return data.batch(BATCH, drop_remainder=True).prefetch(4)

    def eval_fn():
        return tf.data.Dataset.from_tensor_slices((x[:1280], y[:1280])).batch(BATCH)

    times = []

    class Timer(v1.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            times.append(time.perf_counter())

    per_call = k or 1
    _estimator(k).train(train_fn, steps=steps + 10 * per_call, hooks=[Timer()])
    warm = 10 if k is None else 1  # calls excluded as warm-up
    rate = (len(times) - 1 - warm) * per_call / (times[-1] - times[warm])
    est = _estimator(k)
    start = time.perf_counter()
    for _ in range(rounds):
        est.train(train_fn, steps=100)
        est.evaluate(eval_fn, steps=10)
    return {"steps_per_sec": rate, "rounds_secs": time.perf_counter() - start}


def system(k: int | None) -> str:
    return "engine Estimator" + (f", iterations_per_loop={k}" if k else " (per step)")


@cleaned_up
def main(argv=None) -> dict:
    """Returns {system: {"steps_per_sec", "rounds_secs"}} (medians), the legacy peer included
    when --legacy-python is given."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--legacy-python", help="a Python with tensorflow-estimator 2.15")
    args = parser.parse_args(argv)
    x, y = _data()
    runs: dict[str, list[dict]] = {}
    for _ in range(args.repeats):  # interleaved, so a neighbour's burst hits every system
        for k in (None, 100):
            runs.setdefault(system(k), []).append(measure(x, y, args.steps, args.rounds, k))
        if args.legacy_python:
            peer = legacy_peer.measure(args.legacy_python, args.steps, args.rounds, "estimator")
            runs.setdefault(LEGACY, []).append(peer)
    result = {
        name: {
            key: statistics.median(r[key] for r in rs) for key in ("steps_per_sec", "rounds_secs")
        }
        for name, rs in runs.items()
    }
    for line in results_lines(result):
        print(line)
    return result


def results_lines(result: dict) -> list[str]:
    """The RESULTS.md section for `main`'s result."""
    legacy = result.get(LEGACY)
    lines = [
        "## Plain Estimator vs tensorflow-estimator 2.15 (same MLP, data and batch)",
        "",
        "| system | train steps/s | vs original | rounds of train(100)+evaluate(10), s | speed vs original |",
        "|---|---|---|---|---|",
    ]
    for name, r in result.items():
        rate = f"{r['steps_per_sec'] / legacy['steps_per_sec']:.2f}x" if legacy else "-"
        secs = f"{legacy['rounds_secs'] / r['rounds_secs']:.2f}x" if legacy else "-"
        lines.append(
            f"| {name} | {r['steps_per_sec']:.0f} | {rate} | {r['rounds_secs']:.2f} | {secs} |"
        )
    return lines


if __name__ == "__main__":
    main()
