"""Tiny models and inputs shared by the engine tests (real graphs, real checkpoints)."""

import numpy as np
import tensorflow as tf

from estimator_core import ModeKeys, RunConfig, TPUConfig, TPUEstimator, TPUEstimatorSpec

v1 = tf.compat.v1

N_FEATURES = 4
N_CLASSES = 3


def data(n=96, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, N_FEATURES).astype("float32")
    y = np.argmax(x[:, :N_CLASSES], axis=1).astype("int32")
    return x, y


def metric_fn(labels, logits):
    return {"accuracy": v1.metrics.accuracy(labels, tf.argmax(logits, 1))}


def linear_model_fn(features, labels, mode, params):
    """A linear classifier from tf.compat.v1 ops: deterministic init, SGD."""
    w = v1.get_variable("w", [N_FEATURES, N_CLASSES], initializer=v1.constant_initializer(0.01))
    b = v1.get_variable("b", [N_CLASSES], initializer=v1.zeros_initializer())
    logits = tf.matmul(features["x"], w) + b
    predictions = {"class": tf.argmax(logits, 1), "logits": logits}
    if mode == ModeKeys.PREDICT:
        return TPUEstimatorSpec(mode, predictions=predictions)
    loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
    v1.summary.scalar("my_loss", loss)
    train_op = v1.train.GradientDescentOptimizer(params.get("lr", 0.1)).minimize(
        loss, global_step=v1.train.get_global_step()
    )
    return TPUEstimatorSpec(
        mode,
        predictions=predictions,
        loss=loss,
        train_op=train_op,
        eval_metrics=(metric_fn, [labels, logits]),
    )


def train_input_fn(x=None, y=None):
    if x is None:
        x, y = data()

    def input_fn(params):
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y))
        return ds.repeat().batch(params["batch_size"])

    return input_fn


def finite_input_fn(x=None, y=None, labels=True):
    """Each example once, in order, partial last batch kept."""
    if x is None:
        x, y = data()

    def input_fn(params):
        if labels:
            ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y))
        else:
            ds = tf.data.Dataset.from_tensor_slices({"x": x})
        return ds.batch(params["batch_size"])

    return input_fn


def estimator(model_dir, model_fn=linear_model_fn, iterations=2, batch=8, **kwargs):
    config_kwargs = {
        k: kwargs.pop(k)
        for k in list(kwargs)
        if k
        in (
            "save_checkpoints_steps",
            "save_summary_steps",
            "keep_checkpoint_max",
            "tf_random_seed",
            "log_step_count_steps",
            "save_checkpoints_secs",
        )
    }
    config = RunConfig(model_dir=str(model_dir), tpu_config=TPUConfig(iterations), **config_kwargs)
    kwargs.setdefault("use_tpu", False)
    kwargs.setdefault("train_batch_size", batch)
    kwargs.setdefault("eval_batch_size", batch)
    kwargs.setdefault("predict_batch_size", batch)
    return TPUEstimator(model_fn=model_fn, config=config, **kwargs)
