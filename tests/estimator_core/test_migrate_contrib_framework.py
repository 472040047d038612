"""tpuest migrate on contrib.framework's checkpoint readers and global-step helpers (XLNet's
model_utils reads checkpoints with them): they become tf.train's."""

import textwrap

import numpy as np
import tensorflow as tf

from estimator_core.migrate import migrate_source


def migrate(text: str):
    return migrate_source(textwrap.dedent(text).lstrip("\n"), "m.py")


def test_contrib_framework_checkpoint_readers_become_tf_train(tmp_path):
    result = migrate(
        """
        import tensorflow as tf
        def read(ckpt, name):
            names = [name for name, _ in tf.contrib.framework.list_variables(ckpt)]
            reader = tf.contrib.framework.load_checkpoint(ckpt)
            return names, reader.get_tensor(name), tf.contrib.framework.load_variable(ckpt, name)
        """
    )
    assert result.manual == ()
    assert "contrib" not in result.migrated
    for text in ("tf.train.list_variables(ckpt)", "tf.train.load_checkpoint(ckpt)"):
        assert text in result.migrated
    # The migrated function runs on TF2 and reads a real checkpoint.
    path = tf.train.Checkpoint(v=tf.Variable([1.0, 2.0])).write(str(tmp_path / "ckpt"))
    namespace = {}
    exec(result.migrated.replace("import estimator_core\n", ""), namespace)
    name = "v/.ATTRIBUTES/VARIABLE_VALUE"
    names, value, loaded = namespace["read"](path, name)
    assert name in names
    np.testing.assert_allclose(value, [1.0, 2.0], atol=0)
    np.testing.assert_allclose(loaded, [1.0, 2.0], atol=0)


def test_contrib_framework_global_step_helpers_become_compat_v1_train():
    result = migrate(
        """
        import tensorflow as tf
        from tensorflow.contrib import framework as contrib_framework
        step = contrib_framework.get_or_create_global_step()
        same = tf.contrib.framework.get_global_step()
        """
    )
    assert result.manual == ()
    assert "step = tf.compat.v1.train.get_or_create_global_step()" in result.migrated
    assert "same = tf.compat.v1.train.get_global_step()" in result.migrated
