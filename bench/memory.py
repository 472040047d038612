"""RSS after each of 20 consecutive train() calls on one estimator (goal: growth < 5%).

Run: python -m bench.memory [--calls 20 --steps 50]. Measured twice: with the same input_fn
(the live graph is reused) and with a new input_fn per call (a new graph every call).
"""

from __future__ import annotations

import argparse
import gc
import tempfile

from bench import train_throughput as tt
from bench.scratch import cleaned_up


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(calls: int, steps: int, reuse: bool) -> list[float]:
    import tensorflow as tf

    from estimator_core import RunConfig, TPUConfig, TPUEstimator, TPUEstimatorSpec

    v1 = tf.compat.v1
    x, y = tt._data(2048)

    def model_fn(features, labels, mode):
        loss = v1.losses.sparse_softmax_cross_entropy(labels, tt._mlp(features))
        op = v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=v1.train.get_global_step())
        return TPUEstimatorSpec(mode, loss=loss, train_op=op)

    config = RunConfig(
        model_dir=tempfile.mkdtemp(prefix="bench_mem_"),
        tpu_config=TPUConfig(50),
        log_step_count_steps=10**9,
        save_checkpoints_steps=10**9,
    )
    est = TPUEstimator(model_fn, config=config, use_tpu=False, train_batch_size=tt.BATCH)
    shared = lambda params: tt._input(x, y, params["batch_size"])  # noqa: E731
    samples = []
    for _ in range(calls):
        input_fn = shared if reuse else (lambda params: tt._input(x, y, params["batch_size"]))
        est.train(input_fn, steps=steps)
        gc.collect()
        samples.append(rss_mb())
    return samples


@cleaned_up
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args(argv)
    results = {}
    for reuse in (True, False):
        samples = measure(args.calls, args.steps, reuse)
        # Growth after the first call (which includes one-time imports and graph building).
        growth = (samples[-1] - samples[0]) / samples[0]
        name = "same input_fn" if reuse else "new input_fn each call"
        results[name] = {"rss_mb": samples, "growth": growth}
        print(f"{name:>24}: RSS {samples[0]:.0f} -> {samples[-1]:.0f} MB ({growth:+.1%})")
    return results


if __name__ == "__main__":
    main()
