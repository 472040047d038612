"""Engine train steps/s vs a hand-written tf.compat.v1 while_loop over the same model and data.

Run: python -m bench.train_throughput [--steps 2000 --iterations 100 --repeats 3]
Both sides run K steps per session.run; warm-up is excluded and the median of the repeats is
reported, with the engine/raw ratio (goal >= 0.97).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1
BATCH = 128


def _data(n=4096):
    rng = np.random.RandomState(0)
    return rng.rand(n, 784).astype("float32"), rng.randint(0, 10, n).astype("int32")


def _mlp(x):
    init = v1.glorot_uniform_initializer(seed=0)
    h = x
    for i, units in enumerate((256, 256)):
        w = v1.get_variable(f"w{i}", [h.shape[1], units], initializer=init)
        h = tf.nn.relu(tf.matmul(h, w) + v1.get_variable(f"b{i}", [units], initializer=v1.zeros_initializer()))
    w = v1.get_variable("w_out", [256, 10], initializer=init)
    return tf.matmul(h, w)


def _input(x, y, batch):
    return tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(batch, drop_remainder=True).prefetch(4)


def raw_loop(x, y, steps: int, k: int) -> float:
    """Steps/s of a raw v1 graph: tf.while_loop of k steps per session.run."""
    graph = tf.Graph()
    with graph.as_default():
        gs = v1.train.get_or_create_global_step()
        it = v1.data.make_initializable_iterator(_input(x, y, BATCH))

        def body(i):
            with tf.control_dependencies([i]):
                fx, fy = it.get_next()
                loss = v1.losses.sparse_softmax_cross_entropy(fy, _mlp(fx))
                op = v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=gs)
            with tf.control_dependencies([op]):
                return i + 1

        loop = tf.while_loop(lambda i: i < k, body, [tf.constant(0)], parallel_iterations=1)
        init = [v1.global_variables_initializer(), it.initializer]
        graph.finalize()
        with v1.Session(graph=graph) as sess:
            sess.run(init)
            sess.run(loop)  # warm-up
            start = time.perf_counter()
            for _ in range(steps // k):
                sess.run(loop)
            return (steps // k) * k / (time.perf_counter() - start)


def engine(x, y, steps: int, k: int, train_distribute=None) -> float:
    """Steps/s of TPUEstimator.train with iterations_per_loop=k (warm-up loop excluded)."""
    from estimator_core import RunConfig, TPUConfig, TPUEstimator, TPUEstimatorSpec

    def model_fn(features, labels, mode):
        loss = v1.losses.sparse_softmax_cross_entropy(labels, _mlp(features))
        op = v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=v1.train.get_global_step())
        return TPUEstimatorSpec(mode, loss=loss, train_op=op)

    timings = {}

    class Timer(v1.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            timings.setdefault("loops", []).append(time.perf_counter())

    config = RunConfig(
        model_dir=tempfile.mkdtemp(prefix="bench_"), tpu_config=TPUConfig(k),
        save_checkpoints_steps=10**9, save_summary_steps=10**9, log_step_count_steps=10**9,
        train_distribute=train_distribute,
    )
    est = TPUEstimator(model_fn, config=config, use_tpu=False, train_batch_size=BATCH)
    est.train(lambda params: _input(x, y, params["batch_size"]), steps=steps + k, hooks=[Timer()])
    loops = timings["loops"]  # first loop is the warm-up
    return (len(loops) - 1) * k / (loops[-1] - loops[0])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--iterations", type=int, nargs="+", default=[100])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    x, y = _data()
    results = {}
    print(f"{'iterations':>10} {'raw v1 steps/s':>15} {'engine steps/s':>15} {'ratio':>7}")
    for k in args.iterations:
        raws, engs = [], []
        for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
            raws.append(raw_loop(x, y, args.steps, k))
            engs.append(engine(x, y, args.steps, k))
        raw, eng = statistics.median(raws), statistics.median(engs)
        results[k] = {"raw": raw, "engine": eng, "ratio": eng / raw}
        print(f"{k:>10} {raw:>15.1f} {eng:>15.1f} {eng / raw:>7.3f}")
    return results


if __name__ == "__main__":
    main()
