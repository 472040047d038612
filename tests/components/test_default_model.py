"""The built-in tabular classifier: vocabularies, OOV, label checks, and penguins accuracy and speed."""

import json

import numpy as np
import pytest
import tensorflow as tf

from components import default_model
from components.schema import Column, Schema
from estimator_core import ModeKeys, TPUEstimatorSpec
from tests.components import penguins_fixtures

penguins_model = penguins_fixtures.penguins_model
penguins_evaluation = penguins_fixtures.penguins_evaluation
penguins_examples = penguins_fixtures.penguins_examples

SCHEMA = Schema((Column("y", "string"), Column("n", "int"), Column("s", "string")), label="y")
STATS = {
    "columns": {
        "y": {"vocabulary": {"b": 5, "a": 9}},
        "n": {"mean": 10.0, "std": 2.0},
        "s": {"vocabulary": {"red": 3, "blue": 2}},
    }
}


def test_label_vocabulary_is_sorted_and_int_labels_count_up():
    assert default_model.label_vocabulary(SCHEMA, STATS, {}) == ["a", "b"]
    ints = Schema((Column("y", "int"),), label="y")
    stats = {"columns": {"y": {"max": 2}}}
    assert default_model.label_vocabulary(ints, stats, {}) == ["0", "1", "2"]
    assert default_model.label_vocabulary(ints, stats, {"n_classes": 5})[-1] == "4"
    floats = Schema((Column("y", "float"),), label="y")
    with pytest.raises(ValueError, match="is a classifier; label 'y' is a float column"):
        default_model.label_vocabulary(floats, {"columns": {}}, {})


def test_unseen_and_missing_strings_share_the_oov_bucket():
    ids = default_model._vocab_ids(tf.constant(["blue", "", "green", "red"]), ["blue", "red"])
    assert ids.numpy().tolist() == [0, 2, 2, 1]


def test_numbers_are_standardized_with_the_stats_and_missing_is_the_mean():
    features = {
        "n": tf.constant([12.0, np.nan, 10.0, 7.0]),  # stats: mean 10, std 2
        "s": tf.constant(["red", "blue", "", "green"]),
    }
    vectors = default_model._feature_vectors(features, SCHEMA, STATS, default_model.params)
    # Columns in schema order: n standardized, then s one-hot over [blue, red, OOV].
    np.testing.assert_allclose(vectors[:, 0].numpy(), [1.0, 0.0, 0.0, -1.5], atol=1e-6)
    np.testing.assert_array_equal(
        vectors[:, 1:].numpy(), [[0, 1, 0], [1, 0, 0], [0, 0, 1], [0, 0, 1]]
    )


def test_unknown_labels_fail_instead_of_training_on_garbage():
    with pytest.raises(tf.errors.InvalidArgumentError, match="label not among the 2 training"):
        default_model._label_ids(tf.constant(["a", "zebra"]), "string", ["a", "b"])


def _spec(mode, tmp_path, features, labels=None):
    schema_path, stats_path = tmp_path / "schema.json", tmp_path / "stats.json"
    SCHEMA.save(str(schema_path))
    stats_path.write_text(json.dumps(STATS))
    params = {
        **default_model.params,
        "schema_path": str(schema_path),
        "stats_path": str(stats_path),
    }
    with tf.Graph().as_default():
        tf.compat.v1.train.get_or_create_global_step()
        return default_model.model_fn(features(), labels() if labels else None, mode, params)


def test_predict_spec_exports_classification_and_predict_signatures(tmp_path):
    def features():
        return {"n": tf.constant([1.0, np.nan]), "s": tf.constant(["red", ""])}

    spec = _spec(ModeKeys.PREDICT, tmp_path, features)
    assert isinstance(spec, TPUEstimatorSpec)
    assert set(spec.predictions) == {"class_ids", "classes", "probabilities", "logits"}
    assert set(spec.export_outputs) == {"serving_default", "classification"}


def test_eval_metrics_are_accuracy_per_class_precision_recall_and_binary_auc(tmp_path):
    def features():
        return {"n": tf.constant([1.0, 2.0]), "s": tf.constant(["red", "blue"])}

    spec = _spec(ModeKeys.EVAL, tmp_path, features, lambda: tf.constant(["a", "b"]))
    assert spec.train_op is None
    metric_fn, tensors = spec.eval_metrics
    with tf.Graph().as_default():
        metrics = metric_fn(
            labels=tf.constant([0, 1], tf.int64),
            class_ids=tf.constant([0, 0], tf.int64),
            probabilities=tf.constant([[0.9, 0.1], [0.6, 0.4]]),
        )
    assert set(metrics) == {"accuracy", "precision/a", "recall/a", "precision/b", "recall/b", "auc"}


def test_missing_data_params_are_named():
    with pytest.raises(ValueError, match=r"needs params\['schema_path'\]"):
        default_model.model_fn({}, None, ModeKeys.PREDICT, {"stats_path": "x"})


def test_penguins_train_fast_to_over_90_percent(penguins_model, penguins_evaluation):
    # Measured: ~0.98 eval accuracy after 300 steps of batch 32 in about a second.
    assert penguins_evaluation.metrics["accuracy"] > 0.9
    assert penguins_model.duration_secs < 30
