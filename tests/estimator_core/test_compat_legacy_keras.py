"""estimator_core.compat.legacy_keras: TensorFlow's TF1 batch-norm layer module (tf-slim's
`batch_norm` builds its layer with it) loads from tf-keras' `src` tree."""

import tensorflow as tf

import estimator_core.compat.legacy_keras  # noqa: F401


def test_tensorflows_batch_normalization_layer_module_resolves_to_tf_keras_src():
    from tensorflow.python.layers import normalization
    from tf_keras.src.legacy_tf_layers import normalization as src

    assert normalization.BatchNormalization is src.BatchNormalization  # one module, two names
    assert src.__spec__.name == "tf_keras.src.legacy_tf_layers.normalization"
    with tf.Graph().as_default():
        out = normalization.batch_normalization(tf.ones([4, 3]), training=True, name="bn")
        updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
        names = sorted(v.op.name for v in tf.compat.v1.global_variables())
    assert out.shape == (4, 3) and len(updates) == 2
    assert names == ["bn/beta", "bn/gamma", "bn/moving_mean", "bn/moving_variance"]
