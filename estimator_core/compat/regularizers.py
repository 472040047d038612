"""`tf.contrib.layers`' weight regularizers: contrib's scales (Keras' `l2` is twice contrib's).

contrib's `l2_regularizer(scale)` adds `scale * tf.nn.l2_loss(w)` = scale * sum(w**2) / 2 to the
REGULARIZATION_LOSSES collection through `tf.compat.v1.layers`' `kernel_regularizer`; a scale of
0 turns the regularizer off (it returns None, so nothing is collected).
"""

from __future__ import annotations

import numbers

import tensorflow as tf


def _checked(scale, name: str) -> bool:
    """Whether `scale` leaves the regularizer on; contrib's checks of it."""
    if isinstance(scale, numbers.Integral):
        raise ValueError(f"{name}: scale cannot be an integer: {scale!r} (write {scale}.0)")
    if isinstance(scale, numbers.Real):
        if scale < 0.0:
            raise ValueError(f"{name}: scale must be >= 0, got {scale:g}")
        return scale != 0.0
    return True  # a tensor


def _regularizer(scale, scope, name: str, penalty):
    if not _checked(scale, name):
        return lambda weights: None

    def regularize(weights):
        with tf.name_scope(scope or name) as op_name:
            factor = tf.convert_to_tensor(scale, dtype=weights.dtype.base_dtype, name="scale")
            return tf.multiply(factor, penalty(weights), name=op_name)

    return regularize


def l1_regularizer(scale, scope=None):
    """`weights -> scale * sum(|weights|)`; `lambda w: None` when `scale` is 0.

    Raises:
        ValueError: `scale` is an integer or negative.
    """
    return _regularizer(scale, scope, "l1_regularizer", lambda w: tf.reduce_sum(tf.abs(w)))


def l2_regularizer(scale, scope=None):
    """`weights -> scale * sum(weights**2) / 2` (`tf.nn.l2_loss`); `lambda w: None` when 0.

    Raises:
        ValueError: `scale` is an integer or negative.
    """
    return _regularizer(scale, scope, "l2_regularizer", tf.nn.l2_loss)


def l1_l2_regularizer(scale_l1: float = 1.0, scale_l2: float = 1.0, scope=None):
    """`l1_regularizer(scale_l1)` plus `l2_regularizer(scale_l2)` (just one when the other is 0).

    Raises:
        ValueError: a scale is an integer or negative.
    """
    scope = scope or "l1_l2_regularizer"
    l1_on = _checked(scale_l1, "l1_l2_regularizer")
    l2_on = _checked(scale_l2, "l1_l2_regularizer")
    if not l1_on:
        return l2_regularizer(scale_l2, scope)
    if not l2_on:
        return l1_regularizer(scale_l1, scope)
    l1, l2 = l1_regularizer(scale_l1), l2_regularizer(scale_l2)

    def regularize(weights):
        with tf.name_scope(scope) as op_name:
            return tf.add_n([l1(weights), l2(weights)], name=op_name)

    return regularize


__all__ = ["l1_l2_regularizer", "l1_regularizer", "l2_regularizer"]
