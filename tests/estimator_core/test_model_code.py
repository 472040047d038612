"""model_fn code styles: Keras 3 layers in the graph, and tf.compat.v1.layers under tf-keras."""

import logging
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import tensorflow as tf

from estimator_core import ModeKeys, TPUEstimatorSpec

from .fakes import estimator, finite_input_fn, metric_fn, train_input_fn

v1 = tf.compat.v1


def keras_model_fn(features, labels, mode, params):
    hidden = keras.layers.Dense(16, activation="relu")(features["x"])
    logits = keras.layers.Dense(3)(hidden)
    if mode == ModeKeys.PREDICT:
        return TPUEstimatorSpec(mode, predictions={"logits": logits})
    loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
    train_op = v1.train.AdamOptimizer(0.05).minimize(loss, global_step=v1.train.get_global_step())
    return TPUEstimatorSpec(
        mode, loss=loss, train_op=train_op, eval_metrics=(metric_fn, [labels, logits])
    )


def test_keras_layers_train_resume_and_keep_their_names(tmp_path):
    est = estimator(tmp_path, model_fn=keras_model_fn, iterations=10, tf_random_seed=1)
    est.train(train_input_fn(), max_steps=100)
    names = est.get_variable_names()
    assert "dense/kernel" in names and len([n for n in names if n.endswith("/kernel")]) == 2
    # A second call in the same process rebuilds the graph and must restore the same names.
    est.train(train_input_fn(), steps=50)
    assert est.get_variable_names() == names
    result = est.evaluate(finite_input_fn())
    assert result["accuracy"] > 0.9 and result["global_step"] == 150


LEGACY_SCRIPT = textwrap.dedent(
    """
    import os, sys
    import numpy as np
    import tensorflow as tf
    from estimator_core import TPUEstimator, TPUEstimatorSpec, RunConfig, TPUConfig
    v1 = tf.compat.v1

    def model_fn(features, labels, mode, params):
        h = v1.layers.dense(features["x"], 8, activation=tf.nn.relu)
        logits = v1.layers.dense(h, 3)
        loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
        op = v1.train.AdamOptimizer(0.05).minimize(loss, global_step=v1.train.get_global_step())
        return TPUEstimatorSpec(mode, loss=loss, train_op=op)

    x = np.random.RandomState(0).randn(64, 4).astype("float32")
    y = np.argmax(x[:, :3], 1).astype("int32")
    def input_fn(params):
        return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(params["batch_size"])
    est = TPUEstimator(model_fn, config=RunConfig(model_dir=sys.argv[1], tpu_config=TPUConfig(5)),
                       use_tpu=False, train_batch_size=16)
    est.train(input_fn, max_steps=20)
    print("NAMES", sorted(est.get_variable_names()))
    """
)


def test_compat_v1_layers_run_under_the_legacy_keras_switch(tmp_path):
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", LEGACY_SCRIPT, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "dense/kernel" in proc.stdout and "global_step" in proc.stdout
    reader = tf.train.load_checkpoint(str(tmp_path))
    assert reader.get_tensor("global_step") == 20
    assert np.isfinite(reader.get_tensor("dense/kernel")).all()


def test_a_lookup_table_in_training_trains_at_the_top_level_and_says_why(tmp_path, caplog):
    def table_model_fn(features, labels, mode, params):
        vocabulary = tf.lookup.KeyValueTensorInitializer(
            tf.constant(["a", "b", "c"]), tf.constant([0, 1, 2], tf.int64)
        )
        ids = tf.lookup.StaticHashTable(vocabulary, -1).lookup(features["s"])
        weights = v1.get_variable("weights", [3, 3])
        logits = tf.gather(weights, tf.maximum(ids, 0))
        if mode == ModeKeys.PREDICT:
            return TPUEstimatorSpec(mode, predictions={"ids": ids})
        loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
        step = v1.train.get_global_step()
        return TPUEstimatorSpec(
            mode, loss=loss, train_op=v1.train.GradientDescentOptimizer(0.1).minimize(loss, step)
        )

    def input_fn(params):
        data = ({"s": np.array(["a", "b", "c", "z"])}, np.array([0, 1, 2, 0], np.int32))
        return tf.data.Dataset.from_tensor_slices(data).repeat().batch(params["batch_size"])

    caplog.set_level(logging.INFO, logger="estimator_core")
    est = estimator(tmp_path / "m", table_model_fn, batch=2, iterations=3)
    est.train(input_fn, steps=4)
    lines = [r.getMessage() for r in caplog.records if "top level of the graph" in r.getMessage()]
    assert len(lines) == 1 and "lookup table (key_value_init" in lines[0], lines
    assert "input_fn" in lines[0]  # how to get the loop back
    assert tf.train.load_checkpoint(str(tmp_path / "m")).get_tensor("global_step") == 4
