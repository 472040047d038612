"""Keras 3 layer state (BatchNormalization's moving statistics) moves during training."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_core import ModeKeys, TPUEstimatorSpec

from .fakes import estimator

v1 = tf.compat.v1
X = np.random.RandomState(3).randn(8, 4).astype("float32") * 2.0 + 1.5
Y = np.array([0, 1, 2, 0, 1, 2, 0, 1], dtype="int32")


def bn_model_fn(block_loop=False):
    def model_fn(features, labels, mode, params):
        if block_loop:
            # A non-constant initial value cannot live in the loop: steps run one at a time.
            v1.get_variable("noise", initializer=tf.random.uniform([2], seed=1))
        training = mode == ModeKeys.TRAIN
        normed = tf.keras.layers.BatchNormalization()(features["x"], training=training)
        logits = tf.keras.layers.Dense(3)(normed)
        if mode == ModeKeys.PREDICT:
            return TPUEstimatorSpec(mode, predictions={"logits": logits})
        loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=v1.train.get_global_step()
        )
        return TPUEstimatorSpec(mode, loss=loss, train_op=train_op)

    return model_fn


def same_batch_input_fn(params):
    # The same 8 rows every step: the moving statistics have a closed form.
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(8).repeat()


@pytest.mark.parametrize("iterations,block_loop", [(3, False), (1, False), (1, True)])
def test_batch_norm_moving_statistics_move_on_every_step(tmp_path, iterations, block_loop):
    est = estimator(tmp_path, model_fn=bn_model_fn(block_loop), iterations=iterations, batch=8)
    steps = 6
    est.train(same_batch_input_fn, steps=steps)
    kept = 0.99**steps  # Keras BatchNormalization's default momentum
    mean, variance = X.mean(axis=0), X.var(axis=0)
    np.testing.assert_allclose(
        est.get_variable_value("batch_normalization/moving_mean"), mean * (1 - kept), atol=1e-5
    )
    np.testing.assert_allclose(
        est.get_variable_value("batch_normalization/moving_variance"),
        kept + variance * (1 - kept),
        atol=1e-5,
    )
