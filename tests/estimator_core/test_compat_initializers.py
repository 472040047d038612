"""estimator_core.compat.initializers and .regularizers: contrib.layers' formulas (SqueezeNet,
DenseNet and AmoebaNet of tensorflow/tpu pass them to tf.compat.v1.layers)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from estimator_core.compat.initializers import (
    variance_scaling_initializer,
    xavier_initializer,
    xavier_initializer_conv2d,
)
from estimator_core.compat.regularizers import l1_l2_regularizer, l1_regularizer, l2_regularizer

W = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)


def test_xavier_conv2d_is_uniform_within_the_fan_average_limit():
    values = xavier_initializer_conv2d(seed=1)([3, 3, 16, 32]).numpy()
    limit = math.sqrt(6.0 / (9 * 16 + 9 * 32))  # fans count the 3x3 receptive field
    assert np.abs(values).max() <= limit
    assert values.std() == pytest.approx(limit / math.sqrt(3.0), abs=0.02 * limit)


def test_variance_scaling_normal_uses_contribs_truncated_stddev():
    values = variance_scaling_initializer(seed=2)([400, 300]).numpy()  # factor 2, FAN_IN
    stddev = math.sqrt(1.3 * 2.0 / 400)  # not Keras' sqrt(2 / 400) / 0.8796
    assert np.abs(values).max() <= 2 * stddev
    assert values.std() == pytest.approx(0.8796 * stddev, abs=0.02 * stddev)  # cut at 2 sigma
    narrow = xavier_initializer(uniform=False, seed=2)([400, 300]).numpy()
    assert np.abs(narrow).max() <= 2 * math.sqrt(1.3 / 350)


def test_initializers_refuse_integer_dtypes_and_unknown_modes():
    with pytest.raises(TypeError, match="int32"):
        xavier_initializer(dtype=tf.int32)
    with pytest.raises(TypeError, match="'fan_in'"):
        variance_scaling_initializer(mode="fan_in")


def test_initializer_works_for_get_variable_in_a_graph():
    with tf.Graph().as_default():
        v = tf.compat.v1.get_variable("k", [2, 3], initializer=xavier_initializer(seed=3))
        with tf.compat.v1.Session() as sess:
            sess.run(v.initializer)
            assert np.abs(sess.run(v)).max() <= math.sqrt(6.0 / 5)


def test_l2_is_half_the_sum_of_squares_times_scale():
    got = l2_regularizer(0.5)(tf.constant(W)).numpy()
    assert got == pytest.approx(0.5 * (W**2).sum() / 2, abs=1e-6)
    assert l1_regularizer(0.1)(tf.constant(W)).numpy() == pytest.approx(0.65, abs=1e-6)
    both = l1_l2_regularizer(0.1, 0.5)(tf.constant(W)).numpy()
    assert both == pytest.approx(0.65 + 0.5 * (W**2).sum() / 2, abs=1e-6)


def test_zero_scale_collects_nothing_and_bad_scales_are_refused():
    with tf.Graph().as_default():
        tf.compat.v1.get_variable("a", [2], regularizer=l2_regularizer(0.0))
        tf.compat.v1.get_variable("b", [2], regularizer=l2_regularizer(0.25))
        losses = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES)
        assert [t.op.name for t in losses] == ["b/Regularizer/l2_regularizer"]
    with pytest.raises(ValueError, match="integer: 1"):
        l2_regularizer(1)
    with pytest.raises(ValueError, match=">= 0, got -0.1"):
        l1_regularizer(-0.1)
