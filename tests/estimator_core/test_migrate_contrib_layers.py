"""tpuest migrate on tensorflow/tpu's vision scripts' contrib uses: contrib.layers' initializers
and regularizers become estimator_core.compat's, contrib's checkpoints_iterator tf.train's."""

import os
import subprocess
import sys
import textwrap

from estimator_core.migrate import migrate_source


def migrate(text: str):
    return migrate_source(textwrap.dedent(text).lstrip("\n"), "m.py")


def test_aliased_contrib_layers_initializers_and_regularizers_convert():
    result = migrate(
        """
        import tensorflow.compat.v1 as tf
        from tensorflow.contrib import layers as contrib_layers
        def conv(x, init=contrib_layers.xavier_initializer_conv2d(),
                 reg=contrib_layers.l2_regularizer(scale=0.0002)):
            k = contrib_layers.variance_scaling_initializer(factor=2.0, mode='FAN_OUT')
            return tf.layers.conv2d(x, 8, 3, kernel_initializer=init, kernel_regularizer=reg)
        """
    )
    assert result.manual == ()
    for text in (
        "init=estimator_core.compat.initializers.xavier_initializer_conv2d()",
        "reg=estimator_core.compat.regularizers.l2_regularizer(scale=0.0002)",
        "k = estimator_core.compat.initializers.variance_scaling_initializer(factor=2.0, ",
    ):
        assert text in result.migrated
    assert "tensorflow.contrib" not in result.migrated


def test_other_contrib_layers_names_stay_manual():
    result = migrate(
        """
        import tensorflow.compat.v1 as tf
        from tensorflow.contrib import layers as contrib_layers
        y = contrib_layers.fully_connected(x, 3)
        """
    )
    use, imported = result.manual
    assert "(tensorflow.contrib.layers.fully_connected)" in use.reason
    assert "import of tensorflow.contrib.layers fails" in imported.reason


def test_contrib_evaluation_checkpoints_iterator_becomes_tf_train():
    result = migrate(
        """
        import tensorflow.compat.v1 as tf
        from tensorflow.contrib.training.python.training import evaluation
        for ckpt in evaluation.checkpoints_iterator(model_dir, timeout=60):
            pass
        """
    )
    assert result.manual == ()
    assert "for ckpt in tf.train.checkpoints_iterator(model_dir, timeout=60):" in result.migrated
    assert "contrib" not in result.migrated


def test_contrib_slim_and_its_framework_names_become_tf_slim_with_the_keras_switch():
    result = migrate(
        """
        import tensorflow.compat.v1 as tf
        from tensorflow.contrib import slim
        from tensorflow.contrib import framework as contrib_framework
        from tensorflow.contrib.framework.python.ops import add_arg_scope
        from tensorflow.contrib.framework.python.ops import arg_scope

        @add_arg_scope
        def block(x):
            with arg_scope([slim.conv2d], normalizer_fn=slim.batch_norm):
                v = contrib_framework.variable("v", [1])
                return slim.conv2d(x, 3, 3) * v + tf.contrib.slim.flatten(x)
        """
    )
    assert result.manual == ()
    lines = result.migrated.splitlines()
    for line in (
        "from estimator_core.compat import legacy_keras  # noqa: F401",
        "import tf_slim as slim",
        "from tf_slim import add_arg_scope",
        "from tf_slim import arg_scope",
        "import tf_slim",
        '        v = tf_slim.variable("v", [1])',
        "        return slim.conv2d(x, 3, 3) * v + tf_slim.flatten(x)",
    ):
        assert line in lines
    assert lines[0].startswith("from estimator_core.compat import legacy_keras")
    assert "contrib" not in result.migrated
    assert any("pip install tf-slim" in change.note for change in result.changes)


def test_contrib_tpu_ops_module_becomes_tf_tpu_and_unknown_ops_are_reported():
    result = migrate(
        """
        import tensorflow.compat.v1 as tf
        from tensorflow.contrib.tpu.python.ops import tpu_ops
        def group_sum(x):
            return tpu_ops.cross_replica_sum(x, [[0, 1]]) + tpu_ops.no_such_op(x)
        """
    )
    assert "tpu_ops = tf.tpu" in result.migrated.splitlines()
    (problem,) = result.manual
    assert problem.line == 4 and "no_such_op: tensorflow.compat.v1.tpu has no such name" in (
        problem.reason
    )


RESOLVE_IN_A_FRESH_PYTHON = """
import sys, textwrap
import tensorflow as tf
before = tf.compat.v1.tpu
from estimator_core.migrate import migrate_source
code = textwrap.dedent('''
    import tensorflow.compat.v1 as tf
    from tensorflow.contrib.tpu.python.ops import tpu_ops
    def f(x):
        return tpu_ops.cross_replica_sum(x) + tpu_ops.no_such_op(x) + tf.tpu.replicate(x)
''').lstrip()
migrate_source(code, "m.py")
assert tf.compat.v1.tpu is before, "tf.compat.v1.tpu was rebound"
print(sorted(k for k in sys.modules if k.startswith("tensorflow.compat.v1")))
"""


def test_checking_names_leaves_tensorflows_modules_as_they_were():
    """Migrating in-process (tests, notebooks) must not rebind tf.compat.v1.tpu to a second copy
    of the module: a monkeypatched or already-imported `replicate` would stop being the one used."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ran = subprocess.run(
        [sys.executable, "-c", RESOLVE_IN_A_FRESH_PYTHON],
        cwd=root,
        env=dict(os.environ, PYTHONPATH=root, TF_CPP_MIN_LOG_LEVEL="3"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert ran.stdout.strip().splitlines()[-1] == "[]"  # no module under an alias path
