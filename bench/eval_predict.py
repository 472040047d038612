"""Engine evaluate/predict examples/s vs Keras 3 evaluate/predict on the same MLP and data.

Run: python -m bench.eval_predict [--examples 16384 --repeats 3]   (goal: >= 1.0x Keras)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import tensorflow as tf

from bench import train_throughput as tt
from bench.scratch import cleaned_up

v1 = tf.compat.v1


def _engine(x, y):
    from estimator_core import ModeKeys, RunConfig, TPUConfig, TPUEstimator, TPUEstimatorSpec

    def model_fn(features, labels, mode):
        logits = tt._mlp(features)
        if mode == ModeKeys.PREDICT:
            return TPUEstimatorSpec(mode, predictions=tf.argmax(logits, 1))
        loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
        train_op = v1.train.AdamOptimizer(1e-3).minimize(
            loss, global_step=v1.train.get_global_step()
        )

        def metric_fn(labels, logits):
            return {"accuracy": v1.metrics.accuracy(labels, tf.argmax(logits, 1))}

        return TPUEstimatorSpec(
            mode, loss=loss, train_op=train_op, eval_metrics=(metric_fn, [labels, logits])
        )

    config = RunConfig(
        model_dir=tempfile.mkdtemp(prefix="bench_"),
        tpu_config=TPUConfig(10),
        log_step_count_steps=10**9,
    )
    est = TPUEstimator(
        model_fn,
        config=config,
        use_tpu=False,
        train_batch_size=tt.BATCH,
        eval_batch_size=tt.BATCH,
        predict_batch_size=tt.BATCH,
    )
    est.train(lambda params: tt._input(x, y, params["batch_size"]), steps=10)
    return est


def measure(x, y, repeats: int) -> dict:
    est = _engine(x, y)

    def eval_fn(params):
        return tf.data.Dataset.from_tensor_slices((x, y)).batch(params["batch_size"])

    def predict_fn(params):
        return tf.data.Dataset.from_tensor_slices(x).batch(params["batch_size"])

    model = tt._keras_model()
    import keras

    model.compile(
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"]
    )
    data = tf.data.Dataset.from_tensor_slices((x, y)).batch(tt.BATCH)
    features = tf.data.Dataset.from_tensor_slices(x).batch(tt.BATCH)
    systems = {
        "engine evaluate": lambda: est.evaluate(eval_fn),
        "keras evaluate": lambda: model.evaluate(data, verbose=0),
        "engine predict": lambda: list(est.predict(predict_fn, yield_single_examples=False)),
        "keras predict": lambda: model.predict(features, verbose=0),
    }
    for fn in systems.values():
        fn()  # warm-up: graph build, tracing
    samples = {name: [] for name in systems}
    for _ in range(repeats):
        for name, fn in systems.items():
            start = time.perf_counter()
            fn()
            samples[name].append(len(x) / (time.perf_counter() - start))
    rates = {name: statistics.median(v) for name, v in samples.items()}
    return {
        "examples_per_sec": rates,
        "ratios": {
            "evaluate vs keras": rates["engine evaluate"] / rates["keras evaluate"],
            "predict vs keras": rates["engine predict"] / rates["keras predict"],
        },
    }


@cleaned_up
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=16384)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    x, y = tt._data(args.examples)
    result = measure(x, y, args.repeats)
    for name, rate in result["examples_per_sec"].items():
        print(f"{name:>16} {rate:>12.0f} examples/s")
    for name, ratio in result["ratios"].items():
        print(f"{name:>16} {ratio:>12.3f}x")
    return result


if __name__ == "__main__":
    main()
