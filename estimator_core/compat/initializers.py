"""`tf.contrib.layers`' weight initializers (variance scaling, Xavier) with contrib's formulas.

Keras' and tf.compat.v1's `VarianceScaling` differ from contrib's: contrib's truncated normal has
stddev sqrt(1.3 * factor / n) (Keras divides by 0.8796 instead), its `mode`s are upper case and
its fans come from the last two dimensions times every other one. TPU-era scripts (SqueezeNet,
DenseNet, AmoebaNet of tensorflow/tpu) pass these to `tf.compat.v1.layers`.
"""

from __future__ import annotations

import math

import tensorflow as tf

_MODES = ("FAN_IN", "FAN_OUT", "FAN_AVG")


def _floating(dtype, where: str) -> tf.DType:
    dtype = tf.as_dtype(dtype)
    if not dtype.is_floating:
        raise TypeError(f"{where}: cannot initialize a {dtype.name} variable (floating types only)")
    return dtype


def variance_scaling_initializer(
    factor: float = 2.0, mode: str = "FAN_IN", uniform: bool = False, seed=None, dtype=tf.float32
):
    """He-style initializer: values of variance `factor / n`, n the fan chosen by `mode`.

    Args:
        factor: the variance multiplier (2.0: He et al., 1.0: Xavier/Glorot).
        mode: "FAN_IN", "FAN_OUT" or "FAN_AVG" (the mean of the two).
        uniform: uniform in [-sqrt(3 * factor / n), +...] instead of a truncated normal of
            stddev sqrt(1.3 * factor / n).
        seed: the op seed of the random op.
        dtype: the default floating dtype of the values.

    Returns:
        An initializer `(shape, dtype=dtype, partition_info=None) -> Tensor`.

    Raises:
        TypeError: `dtype` is not floating or `mode` is not one of the three.
    """
    _floating(dtype, "variance_scaling_initializer")
    if mode not in _MODES:
        raise TypeError(f"variance_scaling_initializer: mode {mode!r} is not one of {_MODES}")

    def initializer(shape, dtype=dtype, partition_info=None):
        dtype = _floating(dtype, "variance_scaling_initializer")
        shape = [int(d) for d in shape]
        fan_in = float(shape[-2]) if len(shape) > 1 else float(shape[-1]) if shape else 1.0
        fan_out = float(shape[-1]) if shape else 1.0
        for dim in shape[:-2]:  # convolution kernels: the receptive field counts in both fans
            fan_in *= dim
            fan_out *= dim
        n = {"FAN_IN": fan_in, "FAN_OUT": fan_out, "FAN_AVG": (fan_in + fan_out) / 2.0}[mode]
        if uniform:
            limit = math.sqrt(3.0 * factor / n)
            return tf.random.uniform(shape, -limit, limit, dtype, seed=seed)
        stddev = math.sqrt(1.3 * factor / n)
        return tf.random.truncated_normal(shape, 0.0, stddev, dtype, seed=seed)

    return initializer


def xavier_initializer(uniform: bool = True, seed=None, dtype=tf.float32):
    """Glorot/Xavier: `variance_scaling_initializer(1.0, "FAN_AVG", uniform, seed, dtype)`."""
    return variance_scaling_initializer(1.0, "FAN_AVG", uniform, seed, dtype)


xavier_initializer_conv2d = xavier_initializer

__all__ = ["variance_scaling_initializer", "xavier_initializer", "xavier_initializer_conv2d"]
