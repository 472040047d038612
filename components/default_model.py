"""The built-in model module: an MLP classifier over any prepared table, driven by schema.json/stats.json.

Features, from the statistics of the prepare step:
    * numbers: missing (NaN) -> the mean, then (x - mean) / std;
    * strings: the vocabulary (sorted; "" and unseen values share one OOV bucket), one-hot
      when it has at most `one_hot_max_vocab` values, else an `embedding_dim` embedding
      (stats.json caps vocabularies at 1000 values, so matching is a [batch, vocab] compare).
The label is a string (classes = its vocabulary, sorted) or an int in [0, n_classes).

Predictions: `class_ids` (int64), `classes` (string), `probabilities` and `logits`. Export
outputs: `serving_default` (all of those) and `classification` (scores + class names).
Eval metrics: accuracy, precision/<class> and recall/<class>, and auc for two classes.
"""

from __future__ import annotations

import re

import tensorflow as tf

from components import files
from components.schema import Schema
from estimator_core import ModeKeys, TPUEstimatorSpec
from estimator_core.export import ClassificationOutput, PredictOutput

v1 = tf.compat.v1

params = {
    "hidden_units": [32, 16],
    "learning_rate": 0.01,
    "dropout": 0.0,
    "one_hot_max_vocab": 16,
    "embedding_dim": 8,
}


def _hidden_units(value) -> list[int]:
    if isinstance(value, str):
        value = [int(v) for v in value.replace("[", "").replace("]", "").split(",") if v.strip()]
    if isinstance(value, int):
        value = [value]
    units = [int(v) for v in value]
    if any(u <= 0 for u in units):
        raise ValueError(f"params['hidden_units'] must be positive ints, got {value!r}")
    return units


def _scope_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]", "_", name)


def _dense(x: tf.Tensor, units: int, name: str, activation=None) -> tf.Tensor:
    # Plain v1 variables: stable names for warm starts, shared by name across replicas.
    with v1.variable_scope(name):
        kernel = v1.get_variable(
            "kernel", [x.shape[-1], units], initializer=v1.glorot_uniform_initializer()
        )
        bias = v1.get_variable("bias", [units], initializer=v1.zeros_initializer())
    y = tf.matmul(x, kernel) + bias
    return activation(y) if activation else y


def label_vocabulary(schema: Schema, stats: dict, params: dict) -> list[str]:
    """Class names: the sorted string vocabulary, or "0".."n-1" for an int label."""
    column = schema.column(schema.label)
    column_stats = stats["columns"].get(schema.label, {})
    if column.type == "string":
        vocab = sorted(column_stats.get("vocabulary", {}))
        if column_stats.get("vocabulary_truncated"):
            raise ValueError(
                f"label {schema.label!r} has more distinct values than the {len(vocab)} the "
                "statistics keep: the built-in classifier needs every class; group the rare "
                "classes, or train a module file with its own label handling"
            )
        if len(vocab) < 2:
            raise ValueError(f"label {schema.label!r} needs at least 2 classes, stats have {vocab}")
        return vocab
    if column.type == "int":
        n = params.get("n_classes") or int(column_stats.get("max", 0)) + 1
        if n < 2:
            raise ValueError(f"label {schema.label!r}: set params n_classes (>= 2), got {n}")
        return [str(i) for i in range(int(n))]
    raise ValueError(f"the default model is a classifier; label {schema.label!r} is a float column")


def _vocab_ids(value: tf.Tensor, vocab: list[str], oov: int | None = None) -> tf.Tensor:
    """Index of each string in `vocab`, `oov` (default len(vocab)) when absent.

    A comparison against the whole vocabulary instead of a lookup table: the engine builds
    model_fn inside its in-graph training loop, where table initializers cannot live.
    """
    matches = tf.equal(tf.expand_dims(value, -1), tf.constant(vocab))
    found = tf.argmax(tf.cast(matches, tf.int32), axis=-1)
    missing = tf.fill(tf.shape(found), tf.constant(len(vocab) if oov is None else oov, tf.int64))
    return tf.where(tf.reduce_any(matches, axis=-1), found, missing)


def _feature_vectors(features: dict, schema: Schema, stats: dict, params: dict) -> tf.Tensor:
    parts = []
    for column in schema.features:
        if column.name not in features:
            raise ValueError(f"feature {column.name!r} (in the schema) is missing from the input")
        s = stats["columns"].get(column.name, {})
        value = features[column.name]
        if column.type == "string":
            vocab = sorted(v for v in s.get("vocabulary", {}) if v)
            if not vocab:
                continue
            ids = _vocab_ids(value, vocab)
            if len(vocab) <= int(params["one_hot_max_vocab"]):
                parts.append(tf.one_hot(ids, len(vocab) + 1))
            else:
                with v1.variable_scope("embedding"):
                    table_var = v1.get_variable(
                        _scope_name(column.name),
                        [len(vocab) + 1, int(params["embedding_dim"])],
                        initializer=v1.random_normal_initializer(stddev=0.1),
                    )
                parts.append(tf.nn.embedding_lookup(table_var, ids))
        else:
            if s.get("mean") is None:
                continue  # never seen a value
            mean = float(s["mean"])
            std = float(s.get("std") or 1.0) or 1.0
            x = tf.cast(value, tf.float32)
            x = tf.where(tf.math.is_nan(x), tf.fill(tf.shape(x), mean), x)
            parts.append(tf.expand_dims((x - mean) / std, -1))
    if not parts:
        raise ValueError("the default model found no usable feature in the schema and stats")
    return tf.concat(parts, axis=1)


def _label_ids(labels: tf.Tensor, column_type: str, vocab: list[str]) -> tf.Tensor:
    if column_type == "string":
        ids = _vocab_ids(labels, vocab, oov=-1)
    else:
        ids = tf.cast(labels, tf.int64)
    check = tf.debugging.assert_equal(
        tf.logical_and(ids >= 0, ids < len(vocab)),
        True,
        message=f"label not among the {len(vocab)} training classes {vocab[:10]}",
    )
    with tf.control_dependencies([check]):
        return tf.identity(ids)


def metric_fn(labels, class_ids, probabilities, class_names=()):
    """Accuracy, per-class precision/recall and (two classes) AUC from tf.compat.v1.metrics."""
    metrics = {"accuracy": v1.metrics.accuracy(labels, class_ids)}
    for k, name in enumerate(class_names):
        is_k, predicted_k = tf.equal(labels, k), tf.equal(class_ids, k)
        metrics[f"precision/{name}"] = v1.metrics.precision(is_k, predicted_k)
        metrics[f"recall/{name}"] = v1.metrics.recall(is_k, predicted_k)
    if len(class_names) == 2:
        metrics["auc"] = v1.metrics.auc(labels, probabilities[:, 1])
    return metrics


def model_fn(features, labels, mode, params):
    """The default tabular classifier (see the module docstring)."""
    for key in ("schema_path", "stats_path"):
        if key not in params:
            raise ValueError(f"the default model needs params[{key!r}] (set by the trainer)")
    schema = Schema.load(params["schema_path"])
    stats = files.read_json(params["stats_path"])
    if schema.label is None:
        raise ValueError(f"{params['schema_path']}: the schema names no label column")
    class_names = label_vocabulary(schema, stats, params)
    training = mode == ModeKeys.TRAIN

    net = _feature_vectors(features, schema, stats, params)
    dropout = float(params.get("dropout") or 0.0)
    for i, units in enumerate(_hidden_units(params["hidden_units"])):
        net = _dense(net, units, f"hidden_{i}", tf.nn.relu)
        if training and dropout > 0:
            net = tf.nn.dropout(net, rate=dropout)
    logits = _dense(net, len(class_names), "logits")
    probabilities = tf.nn.softmax(logits)
    class_ids = tf.argmax(logits, axis=1)
    names = tf.constant(class_names)
    predictions = {
        "class_ids": class_ids,
        "classes": tf.gather(names, class_ids),
        "probabilities": probabilities,
        "logits": logits,
    }
    if mode == ModeKeys.PREDICT:
        batch_names = tf.tile(tf.expand_dims(names, 0), [tf.shape(logits)[0], 1])
        return TPUEstimatorSpec(
            mode,
            predictions=predictions,
            export_outputs={
                "serving_default": PredictOutput(predictions),
                "classification": ClassificationOutput(scores=probabilities, classes=batch_names),
            },
        )

    label_ids = _label_ids(labels, schema.column(schema.label).type, class_names)
    loss = v1.losses.sparse_softmax_cross_entropy(label_ids, logits)
    train_op = None
    if training:
        optimizer = v1.train.AdamOptimizer(float(params["learning_rate"]))
        train_op = optimizer.minimize(loss, global_step=v1.train.get_global_step())

    def bound_metric_fn(labels, class_ids, probabilities):
        return metric_fn(labels, class_ids, probabilities, class_names)

    return TPUEstimatorSpec(
        mode,
        predictions=predictions,
        loss=loss,
        train_op=train_op,
        eval_metrics=(
            bound_metric_fn,
            {"labels": label_ids, "class_ids": class_ids, "probabilities": probabilities},
        ),
    )
