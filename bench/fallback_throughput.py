"""Train steps/s of a model_fn on the fallback path (model_fn at the top level, one session.run
per step) against the original TPUEstimator (use_tpu=False) on the same model and data.

The model is bench/train_throughput.py's MLP with its variables created as
`tf.Variable(initializer(shape))`: an initial value computed in model_fn, which cannot live in
the in-graph loop. Run:
python -m bench.fallback_throughput [--legacy-python /work/legacy-venv/bin/python]
Without --legacy-python only the engine's fallback rates are measured. `python -m bench` runs it
and writes its table into bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics

import tensorflow as tf

from bench.scratch import cleaned_up
from bench.train_throughput import BATCH, _data, _input, engine_steps_per_sec

v1 = tf.compat.v1


def _fallback_mlp(x):
    init = v1.glorot_uniform_initializer(seed=0)
    h = x
    for i, units in enumerate((256, 256)):
        w = tf.Variable(init([h.shape[1], units]), name=f"w{i}")
        b = tf.Variable(v1.zeros_initializer()([units]), name=f"b{i}")
        h = tf.nn.relu(tf.matmul(h, w) + b)
    return tf.matmul(h, tf.Variable(init([256, 10]), name="w_out"))


def engine_fallback(x, y, steps: int, k: int) -> float:
    from estimator_core import TPUEstimatorSpec

    def model_fn(features, labels, mode):
        loss = v1.losses.sparse_softmax_cross_entropy(labels, _fallback_mlp(features))
        op = v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=v1.train.get_global_step())
        return TPUEstimatorSpec(mode, loss=loss, train_op=op)

    return engine_steps_per_sec(
        model_fn, lambda params: _input(x, y, params["batch_size"]), BATCH, steps, k
    )


LEGACY = "legacy TPUEstimator 2.15"


def system(k: int) -> str:
    return f"engine fallback, iterations_per_loop={k}"


@cleaned_up
def main(argv=None) -> dict:
    """Returns {"steps_per_sec": {system: rate}, "vs_legacy": {system: ratio}} (medians)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--iterations", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--legacy-python", help="a Python with tensorflow-estimator 2.15 (bench/legacy_peer.py)"
    )
    args = parser.parse_args(argv)
    from bench.legacy_peer import measure

    x, y = _data()
    results: dict = {k: [] for k in args.iterations}
    legacy = []
    for _ in range(args.repeats):  # interleaved
        if args.legacy_python:
            legacy.append(measure(args.legacy_python, args.steps, 0, "fallback")["steps_per_sec"])
        for k in args.iterations:
            results[k].append(engine_fallback(x, y, args.steps, k))
    rates = {system(k): statistics.median(r) for k, r in results.items()}
    out: dict = {"steps_per_sec": rates, "vs_legacy": {}}
    if legacy:
        legacy_rate = statistics.median(legacy)
        out["steps_per_sec"] = {LEGACY: legacy_rate, **rates}
        out["vs_legacy"] = {name: rate / legacy_rate for name, rate in out["steps_per_sec"].items()}
    print(json.dumps(out, indent=1))
    return out


def results_lines(result: dict) -> list[str]:
    """The RESULTS.md section for `main`'s result."""
    lines = [
        "## A model_fn on the fallback path (model_fn at the top level, one session.run per step)",
        "",
        "The MLP above with `tf.Variable(initializer(shape))` variables: an initial value computed",
        "in model_fn cannot live in the in-graph loop, so the engine falls back. The original",
        "TPUEstimator (use_tpu=False) trains the same model on the same data when",
        "`--legacy-python` is given.",
        "",
        "| system | steps/s | vs legacy TPUEstimator |",
        "|---|---|---|",
    ]
    for name, rate in result["steps_per_sec"].items():
        ratio = result["vs_legacy"].get(name)
        lines.append(f"| {name} | {rate:.1f} | {'-' if ratio is None else f'{ratio:.2f}x'} |")
    return lines


if __name__ == "__main__":
    main()
