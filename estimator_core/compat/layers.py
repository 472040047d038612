"""`tf.contrib.layers.layer_norm` on TensorFlow 2.21: same variables, same epsilon, same numbers.

Checkpoints of TPU-era models (BERT and its kin) hold `<scope>/LayerNorm/beta` and
`<scope>/LayerNorm/gamma`; Keras' LayerNormalization names them differently and uses epsilon
1e-3, so a pretrained checkpoint would neither load nor give the same activations. This keeps
contrib's contract: a `LayerNorm` variable scope (or `scope`), `beta` (zeros) and `gamma` (ones)
of shape `inputs.shape[begin_params_axis:]`, moments over `begin_norm_axis:`, epsilon 1e-12
(1e-3 for float16, where 1e-12 underflows).
"""

from __future__ import annotations

import tensorflow as tf

_EPSILON = 1e-12
_EPSILON_FLOAT16 = 1e-3


def _collections(variables_collections, name: str) -> list[str]:
    # contrib accepted a list (every variable goes there) or a dict keyed by variable name.
    if isinstance(variables_collections, dict):
        extra = variables_collections.get(name) or []
    else:
        extra = variables_collections or []
    extra = [extra] if isinstance(extra, str) else list(extra)
    keys = tf.compat.v1.GraphKeys
    return [keys.GLOBAL_VARIABLES, keys.MODEL_VARIABLES, *extra]


def layer_norm(
    inputs,
    center: bool = True,
    scale: bool = True,
    activation_fn=None,
    reuse=None,
    variables_collections=None,
    outputs_collections=None,
    trainable: bool = True,
    begin_norm_axis: int = 1,
    begin_params_axis: int = -1,
    scope=None,
):
    """Layer normalization with `tf.contrib.layers.layer_norm`'s arguments and variable names.

    Args:
        inputs: a tensor of known rank R.
        center: add `beta`.
        scale: multiply by `gamma`.
        activation_fn: applied to the result when given.
        reuse: reuse the variables of `scope`.
        variables_collections: extra collections for the variables (a list, or a dict by
            variable name, as in contrib).
        outputs_collections: collections the output is added to.
        trainable: whether `beta` and `gamma` are trainable.
        begin_norm_axis: first axis normalized over (negative counts from the end).
        begin_params_axis: first axis of the `beta`/`gamma` shape.
        scope: variable scope name; `LayerNorm` (made unique) when None.

    Returns:
        A tensor with the shape and dtype of `inputs`.

    Raises:
        ValueError: the rank of `inputs` is unknown, an axis is out of range, or
            `inputs.shape[begin_params_axis:]` is not fully defined.
    """
    with tf.compat.v1.variable_scope(scope, "LayerNorm", [inputs], reuse=reuse):
        inputs = tf.convert_to_tensor(inputs)
        shape = inputs.shape
        rank = shape.rank
        if rank is None:
            raise ValueError(f"layer_norm: inputs {inputs.name} have an unknown rank")
        if begin_norm_axis < 0:
            begin_norm_axis += rank
        if not (0 <= begin_norm_axis < rank and -rank <= begin_params_axis < rank):
            raise ValueError(
                f"layer_norm: begin_norm_axis ({begin_norm_axis}) and begin_params_axis "
                f"({begin_params_axis}) must lie within the rank of inputs ({rank})"
            )
        params_shape = shape[begin_params_axis:]
        if not params_shape.is_fully_defined():
            raise ValueError(
                f"layer_norm: inputs {inputs.name}: shape[{begin_params_axis}:] is not fully "
                f"defined: {shape}"
            )
        dtype = inputs.dtype.base_dtype
        beta = gamma = None
        if center:
            beta = tf.compat.v1.get_variable(
                "beta",
                shape=params_shape,
                dtype=dtype,
                initializer=tf.compat.v1.zeros_initializer(),
                collections=_collections(variables_collections, "beta"),
                trainable=trainable,
            )
        if scale:
            gamma = tf.compat.v1.get_variable(
                "gamma",
                shape=params_shape,
                dtype=dtype,
                initializer=tf.compat.v1.ones_initializer(),
                collections=_collections(variables_collections, "gamma"),
                trainable=trainable,
            )
        epsilon = _EPSILON_FLOAT16 if dtype == tf.float16 else _EPSILON
        mean, variance = tf.nn.moments(inputs, list(range(begin_norm_axis, rank)), keepdims=True)
        outputs = tf.nn.batch_normalization(
            inputs, mean, variance, offset=beta, scale=gamma, variance_epsilon=epsilon
        )
        outputs.set_shape(shape)
        if activation_fn is not None:
            outputs = activation_fn(outputs)
        for name in outputs_collections or []:
            tf.compat.v1.add_to_collection(name, outputs)
        return outputs


__all__ = ["layer_norm"]
