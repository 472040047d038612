"""The `tf.contrib.metrics` streaming metrics TPU-era fine-tuning scripts use (ALBERT's STS-B).

Each returns `(value, update_op)` like `tf.compat.v1.metrics.*`, with its state in local metric
variables, so it goes into `eval_metric_ops` (or an `eval_metrics` fn) as the original did.
"""

from __future__ import annotations

import tensorflow as tf

v1 = tf.compat.v1
_COLLECTIONS = [v1.GraphKeys.LOCAL_VARIABLES, v1.GraphKeys.METRIC_VARIABLES]


def _local(name: str, initial, shape=None):
    return v1.Variable(
        initial,
        name=name,
        trainable=False,
        collections=_COLLECTIONS,
        use_resource=True,
        shape=shape,
    )


def _add_to(collections, value) -> None:
    for key in collections or ():
        v1.add_to_collection(key, value)


def streaming_pearson_correlation(
    predictions,
    labels,
    weights=None,
    metrics_collections=None,
    updates_collections=None,
    name=None,
):
    """Pearson's r of `predictions` and `labels` over every batch seen (weighted by `weights`).

    As contrib's: the weighted covariance over the product of the weighted standard deviations;
    the running sums are float64 so a long evaluation keeps its precision.

    Returns:
        (pearson_r, update_op), float32 scalars.
    """
    with v1.variable_scope(name, "pearson_r", (predictions, labels, weights)):
        x = tf.reshape(tf.cast(predictions, tf.float64), [-1])
        y = tf.reshape(tf.cast(labels, tf.float64), [-1])
        w = tf.ones_like(x)
        if weights is not None:
            shaped = tf.broadcast_to(tf.cast(weights, tf.float64), tf.shape(predictions))
            w = tf.reshape(shaped, [-1])
        names = ("count", "sum_x", "sum_y", "sum_xx", "sum_yy", "sum_xy")
        sums = [_local(n, tf.zeros([], tf.float64)) for n in names]
        batch = [w, w * x, w * y, w * x * x, w * y * y, w * x * y]
        update_op = tf.group(*[s.assign_add(tf.reduce_sum(b)) for s, b in zip(sums, batch)])

        def pearson(n, sx, sy, sxx, syy, sxy):
            cov = sxy - sx * sy / n
            var_x, var_y = sxx - sx * sx / n, syy - sy * sy / n
            return tf.cast(tf.math.divide_no_nan(cov, tf.sqrt(var_x * var_y)), tf.float32)

        value = pearson(*[s.read_value() for s in sums])
        with tf.control_dependencies([update_op]):
            update = pearson(*[s.read_value() for s in sums])
    _add_to(metrics_collections, value)
    _add_to(updates_collections, update)
    return value, update


def streaming_concat(
    values,
    axis=0,
    max_size=None,
    metrics_collections=None,
    updates_collections=None,
    name=None,
):
    """Every batch's `values` concatenated along `axis` (the first `max_size` kept, if given).

    Returns:
        (concatenated, update_op): the values seen so far, and the op that appends a batch.
    """
    values = tf.convert_to_tensor(values)
    with v1.variable_scope(name, "streaming_concat", (values,)):
        rank = values.shape.rank
        if rank is None:
            raise ValueError("streaming_concat: values must have a known rank")
        axis = axis % max(rank, 1)
        empty = [0 if d == axis else (values.shape[d] or 0) for d in range(rank)]
        seen = _local("array", tf.zeros(empty, values.dtype), shape=tf.TensorShape(None))
        joined = tf.concat([seen.read_value(), values], axis)
        if max_size is not None:
            joined = tf.gather(
                joined, tf.range(tf.minimum(tf.shape(joined)[axis], max_size)), axis=axis
            )
        update = seen.assign(joined, read_value=True)
        value = seen.read_value()
    _add_to(metrics_collections, value)
    _add_to(updates_collections, update)
    return value, update
