"""Engine train steps/s vs peers on the same model and data, measured in the same run.

Peers: a hand-written tf.compat.v1 while_loop of K steps per session.run, a TF2 tf.function loop
over tf.range(K), and Keras 3 fit(steps_per_execution=K). Run:
python -m bench.train_throughput [--steps 2000 --iterations 1 10 100 1000 --repeats 3]
Warm-up is excluded; medians of interleaved repeats; ratios engine/peer (goals: >= 0.97x raw,
>= 1.3x Keras).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np
import tensorflow as tf

from bench.scratch import cleaned_up

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
        h = tf.nn.relu(
            tf.matmul(h, w) + v1.get_variable(f"b{i}", [units], initializer=v1.zeros_initializer())
        )
    w = v1.get_variable("w_out", [256, 10], initializer=init)
    return tf.matmul(h, w)


def _input(x, y, batch):
    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .repeat()
        .batch(batch, drop_remainder=True)
        .prefetch(4)
    )


def raw_loop(x, y, steps: int, k: int) -> float:
    """Steps/s of a raw v1 graph: tf.while_loop of k steps per session.run."""

    def step(features, labels):
        loss = v1.losses.sparse_softmax_cross_entropy(labels, _mlp(features))
        return v1.train.AdamOptimizer(1e-3).minimize(
            loss, global_step=v1.train.get_or_create_global_step()
        )

    return raw_steps_per_sec(step, lambda: _input(x, y, BATCH), steps, k)


def raw_steps_per_sec(step, dataset_fn, steps: int, k: int) -> float:
    """Steps/s of a hand-written v1 graph running `step(features, labels) -> train_op` k times
    per session.run in a tf.while_loop over the dataset `dataset_fn()` makes in the graph."""
    graph = tf.Graph()
    with graph.as_default():
        v1.train.get_or_create_global_step()
        it = v1.data.make_initializable_iterator(dataset_fn())

        def body(i):
            with tf.control_dependencies([i]):
                op = step(*it.get_next())
            with tf.control_dependencies([op]):
                return i + 1

        loop = tf.while_loop(lambda i: i < k, body, [tf.constant(0)], parallel_iterations=1)
        init = [v1.global_variables_initializer(), v1.local_variables_initializer(), it.initializer]
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
    from estimator_core import TPUEstimatorSpec

    def model_fn(features, labels, mode):
        loss = v1.losses.sparse_softmax_cross_entropy(labels, _mlp(features))
        op = v1.train.AdamOptimizer(1e-3).minimize(loss, global_step=v1.train.get_global_step())
        return TPUEstimatorSpec(mode, loss=loss, train_op=op)

    return engine_steps_per_sec(
        model_fn,
        lambda params: _input(x, y, params["batch_size"]),
        BATCH,
        steps,
        k,
        train_distribute=train_distribute,
    )


def engine_steps_per_sec(
    model_fn, input_fn, batch: int, steps: int, k: int, params=None, train_distribute=None
) -> float:
    """Steps/s of TPUEstimator.train(model_fn, input_fn) at iterations_per_loop=k, timed between
    host loops by a hook (the first loop, with graph build and warm-up, is excluded)."""
    from estimator_core import RunConfig, TPUConfig, TPUEstimator

    loops = []

    class Timer(v1.train.SessionRunHook):
        def after_run(self, run_context, run_values):
            loops.append(time.perf_counter())

    config = RunConfig(
        model_dir=tempfile.mkdtemp(prefix="bench_"),
        tpu_config=TPUConfig(k),
        save_checkpoints_steps=10**9,
        save_summary_steps=10**9,
        log_step_count_steps=10**9,
        train_distribute=train_distribute,
    )
    est = TPUEstimator(
        model_fn, config=config, params=params, use_tpu=False, train_batch_size=batch
    )
    est.train(input_fn, steps=steps + k, hooks=[Timer()])
    return (len(loops) - 1) * k / (loops[-1] - loops[0])


def _keras_model():
    import keras

    return keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(10),
        ]
    )


def tf_function_loop(x, y, steps: int, k: int) -> float:
    """Steps/s of a TF2 tf.function running k steps per call over tf.range(k)."""
    import keras

    model, optimizer = _keras_model(), keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    batches = iter(_input(x, y, BATCH))

    @tf.function
    def run(n):
        for _ in tf.range(n):
            fx, fy = next(batches)
            with tf.GradientTape() as tape:
                loss = loss_fn(fy, model(fx, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))

    run(tf.constant(k))  # warm-up (tracing)
    start = time.perf_counter()
    for _ in range(steps // k):
        run(tf.constant(k))
    return (steps // k) * k / (time.perf_counter() - start)


def keras_fit(x, y, steps: int, k: int) -> float:
    """Steps/s of Keras 3 fit(steps_per_execution=k)."""
    import keras

    model = _keras_model()
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=k,
    )
    data = _input(x, y, BATCH)
    model.fit(data, steps_per_epoch=k, epochs=1, verbose=0)  # warm-up
    start = time.perf_counter()
    model.fit(data, steps_per_epoch=(steps // k) * k, epochs=1, verbose=0)
    return (steps // k) * k / (time.perf_counter() - start)


PEERS = {"raw v1 loop": raw_loop, "tf.function": tf_function_loop, "keras fit": keras_fit}


@cleaned_up
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--iterations", type=int, nargs="+", default=[100])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--legacy-python", help="a Python with tensorflow-estimator 2.15 (bench/legacy_peer.py)"
    )
    args = parser.parse_args(argv)
    x, y = _data()
    systems = {"engine": engine, **PEERS}
    if args.legacy_python:
        from bench.legacy_peer import measure

        legacy = measure(args.legacy_python, steps=args.steps)["steps_per_sec"]
        print(
            f"legacy TPUEstimator 2.15 (use_tpu=False, one step per session.run): {legacy:.1f} steps/s"
        )
    results = {}
    print(
        f"{'iterations':>10} "
        + " ".join(f"{name:>14}" for name in systems)
        + " "
        + " ".join(f"{'vs ' + name:>16}" for name in PEERS)
    )
    for k in args.iterations:
        steps = max(args.steps, 2 * k)
        samples = {name: [] for name in systems}
        for _ in range(args.repeats):  # interleaved, so machine noise hits every system alike
            for name, fn in systems.items():
                samples[name].append(fn(x, y, steps, k))
        rates = {name: statistics.median(v) for name, v in samples.items()}
        results[k] = {
            "steps_per_sec": rates,
            "ratios": {peer: rates["engine"] / rates[peer] for peer in PEERS},
        }
        if args.legacy_python:
            results[k]["ratios"]["legacy TPUEstimator"] = rates["engine"] / legacy
        print(
            f"{k:>10} "
            + " ".join(f"{rates[n]:>14.1f}" for n in systems)
            + " "
            + " ".join(f"{results[k]['ratios'][p]:>16.3f}" for p in PEERS)
        )
    return results


if __name__ == "__main__":
    main()
