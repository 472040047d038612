"""estimator_core.compat.legacy_keras: TensorFlow's TF1 batch-norm layer module (tf-slim's
`batch_norm` builds its layer with it) loads from tf-keras' `src` tree.

The import switches the whole process to tf-keras (TF_USE_LEGACY_KERAS=1, as a migrated script
wants), so it runs in a Python of its own, never in the test session's.
"""

import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

CHECK = textwrap.dedent(
    """
    import estimator_core.compat.legacy_keras  # noqa: F401
    import tensorflow as tf
    from tensorflow.python.layers import normalization
    from tf_keras.src.legacy_tf_layers import normalization as src

    assert normalization.BatchNormalization is src.BatchNormalization  # one module, two names
    assert src.__spec__.name == "tf_keras.src.legacy_tf_layers.normalization"
    with tf.Graph().as_default():
        out = normalization.batch_normalization(tf.ones([4, 3]), training=True, name="bn")
        updates = tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
        names = sorted(v.op.name for v in tf.compat.v1.global_variables())
    assert out.shape == (4, 3) and len(updates) == 2, (out.shape, updates)
    print(names)
    """
)


def test_tensorflows_batch_normalization_layer_module_resolves_to_tf_keras_src():
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    ran = subprocess.run(
        [sys.executable, "-c", CHECK],
        cwd=ROOT,
        env=dict(env, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.split("\n")[-2] == str(
        ["bn/beta", "bn/gamma", "bn/moving_mean", "bn/moving_variance"]
    )
