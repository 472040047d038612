"""Replication of one: model_fn runs once, on the default device (the interface every kind keeps)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import tensorflow as tf

from estimator_core.inputs import batch_size_of

v1 = tf.compat.v1

# call(features, labels) -> spec; the builder binds the mode and params.
CallModelFn = Callable[[object, object], object]


class OneDevice:
    """model_fn runs once, on the default device.

    Every kind of replication offers these members; the train/eval/predict builders use
    nothing else.
    """

    num_replicas = 1
    num_local = 1
    session_target = ""

    def session_config(self, config: v1.ConfigProto) -> v1.ConfigProto:
        return config

    def scope(self):
        return contextlib.nullcontext()

    def loop_building(self):
        return contextlib.nullcontext()

    def init_ops(self) -> list:
        """Ops to run once in each new session (none off TPU)."""
        return []

    def train_step(self, get_next, call: CallModelFn, dep, host_fn=lambda spec: []):
        """(spec, train_op, loss, host tensors) for one step."""
        with tf.control_dependencies([dep]):
            features, labels = get_next()
            spec = call(features, labels)
        return spec, spec.train_op, spec.loss, host_fn(spec)

    def eval_step(self, features, labels, call: CallModelFn, gather_fn):
        """Returns (spec, loss weighted sum, example count, gathered metric tensors)."""
        spec = call(features, labels)
        count = tf.cast(batch_size_of(features, labels), tf.float32)
        return spec, tf.cast(spec.loss, tf.float32) * count, count, gather_fn(spec)

    def predict_step(self, features, call: CallModelFn):
        spec = call(features, None)
        return spec, spec.predictions
