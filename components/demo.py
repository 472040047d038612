"""`tpuest demo`: train, evaluate, predict with and export a penguins classifier through the engine."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import time
import zlib

import numpy as np

log = logging.getLogger("tpuest.demo")

NUMERIC = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
CATEGORICAL = {"island": ("Biscoe", "Dream", "Torgersen"), "sex": ("female", "male")}
LABEL = "species"
SPECIES = ("Adelie", "Chinstrap", "Gentoo")


def load_penguins(path: str) -> tuple[dict, np.ndarray, np.ndarray]:
    """Features (numeric NaN for NA, one-hot categoricals), labels, and a stable eval mask."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r[LABEL] in SPECIES]
    if not rows:
        raise ValueError(f"{path}: no rows with a known {LABEL!r}")

    def number(text):
        return float("nan") if text in ("", "NA") else float(text)

    x = np.array([[number(r[c]) for c in NUMERIC] for r in rows], np.float32)
    onehot = np.array(
        [[float(r[c] == v) for c, vocab in CATEGORICAL.items() for v in vocab] for r in rows],
        np.float32,
    )
    y = np.array([SPECIES.index(r[LABEL]) for r in rows], np.int32)
    # Deterministic 80/20 split by a hash of the row's text: the same on every run.
    is_eval = np.array([zlib.crc32(json.dumps(r, sort_keys=True).encode()) % 5 == 0 for r in rows])
    return {"numeric": x, "categorical": onehot}, y, is_eval


def make_model_fn(mean: np.ndarray, std: np.ndarray):
    import keras
    import tensorflow as tf

    from estimator_core import ModeKeys, TPUEstimatorSpec
    from estimator_core.export import PredictOutput

    v1 = tf.compat.v1

    def model_fn(features, labels, mode, params):
        numeric = features["numeric"]
        numeric = tf.where(tf.math.is_nan(numeric), tf.constant(mean), numeric)
        inputs = tf.concat([(numeric - mean) / std, features["categorical"]], axis=1)
        hidden = keras.layers.Dense(params["hidden"], activation="relu")(inputs)
        logits = keras.layers.Dense(len(SPECIES))(hidden)
        probabilities = tf.nn.softmax(logits)
        classes = tf.argmax(logits, 1)
        predictions = {"class_id": classes, "probabilities": probabilities}
        if mode == ModeKeys.PREDICT:
            return TPUEstimatorSpec(
                mode,
                predictions=predictions,
                export_outputs={"serving_default": PredictOutput(predictions)},
            )
        loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
        train_op = v1.train.AdamOptimizer(params["learning_rate"]).minimize(
            loss, global_step=v1.train.get_global_step()
        )

        def metric_fn(labels, classes):
            return {"accuracy": v1.metrics.accuracy(labels, classes)}

        return TPUEstimatorSpec(
            mode, loss=loss, train_op=train_op, eval_metrics=(metric_fn, [labels, classes])
        )

    return model_fn


def run_demo(root: str, train_steps: int = 600, batch_size: int = 32) -> dict:
    """Runs the whole engine round trip under `root`; returns a summary dict (also root/summary.json)."""
    import tensorflow as tf

    from components.datasets import penguins_csv
    from estimator_core import RunConfig, TPUConfig, TPUEstimator
    from estimator_core.export import build_raw_serving_input_receiver_fn

    started = time.monotonic()
    features, labels, is_eval = load_penguins(penguins_csv())
    train = ({k: v[~is_eval] for k, v in features.items()}, labels[~is_eval])
    held = ({k: v[is_eval] for k, v in features.items()}, labels[is_eval])
    mean = np.nanmean(train[0]["numeric"], axis=0)
    std = np.nanstd(train[0]["numeric"], axis=0)

    def train_input_fn(params):
        ds = tf.data.Dataset.from_tensor_slices(train).shuffle(512, seed=0).repeat()
        return ds.batch(params["batch_size"])

    def eval_input_fn(params):
        return tf.data.Dataset.from_tensor_slices(held).batch(params["batch_size"])

    model_dir = os.path.join(root, "model")
    est = TPUEstimator(
        model_fn=make_model_fn(mean, std),
        config=RunConfig(
            model_dir=model_dir,
            tf_random_seed=0,
            tpu_config=TPUConfig(100),
            save_checkpoints_steps=200,
        ),
        params={"hidden": 32, "learning_rate": 0.01},
        use_tpu=False,
        train_batch_size=batch_size,
        eval_batch_size=batch_size,
        predict_batch_size=batch_size,
    )
    est.train(train_input_fn, max_steps=train_steps)
    metrics = est.evaluate(eval_input_fn)
    predictions = list(est.predict(eval_input_fn))
    receiver = build_raw_serving_input_receiver_fn(
        {k: tf.TensorSpec([None, v.shape[1]], tf.float32) for k, v in features.items()}
    )
    export_path = est.export_saved_model(os.path.join(root, "export"), receiver)
    served = tf.saved_model.load(export_path).signatures["serving_default"](
        **{k: tf.constant(v) for k, v in held[0].items()}
    )
    agree = float(
        np.mean(served["class_id"].numpy() == np.array([p["class_id"] for p in predictions]))
    )
    summary = {
        "model_dir": model_dir,
        "global_step": int(metrics["global_step"]),
        "accuracy": float(metrics["accuracy"]),
        "loss": float(metrics["loss"]),
        "eval_examples": int(len(held[1])),
        "export_path": export_path,
        "export_agrees_with_predict": agree,
        "seconds": round(time.monotonic() - started, 1),
    }
    with open(os.path.join(root, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return summary


def _main(args: argparse.Namespace) -> int:
    root = os.path.abspath(args.root)
    os.makedirs(root, exist_ok=True)
    summary = run_demo(root, train_steps=args.train_steps)
    print(json.dumps(summary, indent=2))
    print(
        f"demo: accuracy {summary['accuracy']:.3f} on {summary['eval_examples']} held-out penguins; "
        f"SavedModel at {summary['export_path']}; summary at {os.path.join(root, 'summary.json')}"
    )
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="train, evaluate, predict and export a penguins classifier locally",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  tpuest demo --root ./tpuest-demo",
    )
    parser.add_argument(
        "--root", default="tpuest-demo", help="output directory (default: ./tpuest-demo)"
    )
    parser.add_argument("--train-steps", type=_positive_int, default=600, help="training steps")
    parser.set_defaults(func=_main)
