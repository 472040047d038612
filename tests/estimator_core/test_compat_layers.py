"""estimator_core.compat.layers.layer_norm keeps tf.contrib.layers.layer_norm's names and numbers."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_core.compat.layers import layer_norm


def _reference(x, beta, gamma, begin_norm_axis, epsilon=1e-12):
    axes = tuple(range(begin_norm_axis, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    variance = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(variance + epsilon) * gamma + beta


@pytest.mark.parametrize("begin_norm_axis", [1, -1])
def test_layer_norm_matches_the_formula(begin_norm_axis):
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(4, 3, 5)).astype(np.float32)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        with tf.compat.v1.variable_scope("block"):
            y = layer_norm(tf.constant(x), begin_norm_axis=begin_norm_axis, begin_params_axis=-1)
        names = sorted(v.op.name for v in tf.compat.v1.trainable_variables())
        model_vars = sorted(v.op.name for v in tf.compat.v1.get_collection("model_variables"))
        sess.run(tf.compat.v1.global_variables_initializer())
        got = sess.run(y)
    assert names == ["block/LayerNorm/beta", "block/LayerNorm/gamma"]
    assert model_vars == names
    want = _reference(x, np.zeros(5), np.ones(5), begin_norm_axis % 3)
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_layer_norm_epsilon_is_contribs():
    # Two values 1e-5 apart have variance 2.5e-11: next to epsilon 1e-12 they normalize to
    # about -1 and +1; Keras' epsilon 1e-3 would leave both near 0.
    x = np.array([[1.0, 1.0 + 1e-5]], dtype=np.float64)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        y = layer_norm(tf.constant(x))
        sess.run(tf.compat.v1.global_variables_initializer())
        got = sess.run(y)
    np.testing.assert_allclose(got, _reference(x, 0.0, 1.0, 1), atol=1e-6, rtol=0)
    assert abs(got[0, 1] - got[0, 0]) > 1.9  # ~2 with epsilon 1e-12; ~0.0003 with 1e-3


def test_layer_norm_loads_a_checkpoint_with_contrib_names(tmp_path):
    rng = np.random.default_rng(1)
    beta = rng.normal(size=6).astype(np.float32)
    gamma = rng.normal(size=6).astype(np.float32)
    prefix = str(tmp_path / "model.ckpt")
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        # What a TF1 BERT checkpoint holds: plain variables under contrib's names.
        tf.compat.v1.Variable(beta, name="bert/encoder/LayerNorm/beta")
        tf.compat.v1.Variable(gamma, name="bert/encoder/LayerNorm/gamma")
        sess.run(tf.compat.v1.global_variables_initializer())
        tf.compat.v1.train.Saver().save(sess, prefix)
    x = rng.normal(size=(2, 6)).astype(np.float32)
    with tf.Graph().as_default(), tf.compat.v1.Session() as sess:
        with tf.compat.v1.variable_scope("bert/encoder"):
            y = layer_norm(tf.constant(x), begin_norm_axis=-1, begin_params_axis=-1)
        tf.compat.v1.train.Saver().restore(sess, prefix)  # fails on any missing name
        got = sess.run(y)
    np.testing.assert_allclose(got, _reference(x, beta, gamma, 1), atol=1e-6, rtol=0)


def test_layer_norm_reuse_and_unique_default_scopes():
    with tf.Graph().as_default():
        x = tf.zeros([2, 4])
        layer_norm(x)
        layer_norm(x)
        layer_norm(x, scope="shared")
        layer_norm(x, scope="shared", reuse=True, center=False)
        names = sorted(v.op.name for v in tf.compat.v1.global_variables())
    assert names == [
        "LayerNorm/beta",
        "LayerNorm/gamma",
        "LayerNorm_1/beta",
        "LayerNorm_1/gamma",
        "shared/beta",
        "shared/gamma",
    ]


def test_layer_norm_names_bad_inputs():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="unknown rank"):
            layer_norm(tf.compat.v1.placeholder(tf.float32))
        with pytest.raises(ValueError, match=r"shape\[-1:\] is not fully defined"):
            layer_norm(tf.compat.v1.placeholder(tf.float32, [2, None]))
        with pytest.raises(ValueError, match="begin_norm_axis \\(2\\).*rank of inputs \\(2\\)"):
            layer_norm(tf.zeros([2, 3]), begin_norm_axis=2)
