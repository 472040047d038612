"""Splitting a host batch into per-replica shards, and padding a partial batch to a static size."""

from __future__ import annotations

import tensorflow as tf


def _batch_axes(batch_axis, features, labels) -> list[int]:
    """One split axis per flattened input tensor (default: the major dimension)."""
    flat = tf.nest.flatten((features, labels))
    if batch_axis is None:
        return [0] * len(flat)
    axes = list(tf.nest.flatten(batch_axis))
    if len(axes) != len(flat):
        raise ValueError(
            f"batch_axis {batch_axis!r} gives {len(axes)} axes but input_fn produced {len(flat)} "
            "tensors (features and labels flattened): give one axis per tensor"
        )
    for axis, tensor in zip(axes, flat):
        rank = tensor.shape.rank
        if not isinstance(axis, int) or (rank is not None and not 0 <= axis < rank):
            raise ValueError(
                f"batch_axis {axis!r} is not a valid axis for tensor {tensor.name} of rank {rank}"
            )
    return axes


def shard_batch(features, labels, num_shards: int, batch_axis=None, require_even: bool = False):
    """Splits a host batch into `num_shards` contiguous shards along each tensor's batch axis.

    With `require_even`, a batch that does not divide evenly fails at run time naming both
    sizes; otherwise shards differ by at most one row (a partial final eval/predict batch).
    """
    no_labels = labels is None
    labels = () if no_labels else labels  # an empty structure flattens to nothing
    axes = _batch_axes(batch_axis, features, labels)
    flat = tf.nest.flatten((features, labels))
    sizes = [tf.shape(t)[a] for t, a in zip(flat, axes)]
    checks = [
        tf.debugging.assert_equal(
            s, sizes[0], message="input tensors disagree on batch size along batch_axis"
        )
        for s in sizes[1:]
    ]
    if require_even:
        checks.append(
            tf.debugging.assert_equal(
                sizes[0] % num_shards,
                0,
                message=f"batch does not split evenly over {num_shards} shards along batch_axis",
            )
        )
    with tf.control_dependencies(checks):
        total = tf.identity(sizes[0])
    bounds = [total * i // num_shards for i in range(num_shards + 1)]
    shards = []
    for i in range(num_shards):
        pieces = []
        for tensor, axis in zip(flat, axes):
            begin = [0] * tensor.shape.rank
            size = [-1] * tensor.shape.rank
            begin[axis] = bounds[i]
            size[axis] = bounds[i + 1] - bounds[i]
            piece = tf.slice(tensor, begin, size)
            piece.set_shape(_shard_shape(tensor.shape, axis, num_shards))
            pieces.append(piece)
        shard = tf.nest.pack_sequence_as((features, labels), pieces)
        shards.append((shard[0], None) if no_labels else shard)
    return shards


def _shard_shape(shape: tf.TensorShape, axis: int, num_shards: int) -> tf.TensorShape:
    """A shard's static shape: the input's, with the batch axis divided when that is exact.

    tf.slice with computed bounds loses every static dimension; layers that build variables from
    the input's last dimension (Keras Dense under a strategy) need them back.
    """
    if shape.rank is None:
        return shape
    dims = shape.as_list()
    rows = dims[axis]
    dims[axis] = rows // num_shards if rows is not None and rows % num_shards == 0 else None
    return tf.TensorShape(dims)


def train_shards(get_next, num_shards: int, batch_axis, per_host_input: bool, dep) -> list:
    """One (features, labels) per replica for a training step, read after `dep` (the previous
    step): a host batch split evenly (per-host input), or one input_fn batch per replica."""
    with tf.control_dependencies([dep]):
        if per_host_input:
            features, labels = get_next()
            return shard_batch(features, labels, num_shards, batch_axis, require_even=True)
        return [get_next() for _ in range(num_shards)]


def pad_batch(features, labels, batch_size: int, batch_axis=None):
    """(features, labels) padded to exactly `batch_size` rows, and the real row count.

    A partial final batch is filled by repeating its own rows (in-distribution values: no
    zeros that could turn a loss into NaN); callers drop the extra rows again by count.
    """
    no_labels = labels is None
    labels = () if no_labels else labels
    axes = _batch_axes(batch_axis, features, labels)
    flat = tf.nest.flatten((features, labels))
    count = tf.shape(flat[0])[axes[0]]
    with tf.control_dependencies(
        [
            tf.debugging.assert_less_equal(
                count, batch_size, message=f"input batch is larger than the batch size {batch_size}"
            )
        ]
    ):
        rows = tf.range(batch_size) % tf.maximum(count, 1)
    padded = []
    for tensor, axis in zip(flat, axes):
        filled = tf.gather(tensor, rows, axis=axis)
        shape = filled.shape.as_list() if filled.shape.rank is not None else None
        if shape is not None:
            shape[axis] = batch_size
            filled.set_shape(shape)
        padded.append(filled)
    features, labels = tf.nest.pack_sequence_as((features, labels), padded)
    return features, None if no_labels else labels, count


def first_rows(structure, count):
    """Each tensor of `structure` cut to its first `count` rows (undoes pad_batch's filling)."""
    return tf.nest.map_structure(lambda t: t[:count], structure)
