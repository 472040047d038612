"""tpuest migrate, rule by rule on small TF1 snippets: what changes, what stays, what is reported."""

import textwrap

import pytest

from estimator_core.migrate import migrate_source


def migrate(text: str):
    return migrate_source(textwrap.dedent(text).lstrip("\n"), "m.py")


def body(result) -> str:
    """The migrated text without the import lines the migration adds at the top."""
    added = {c.after for c in result.changes if not c.before and c.after}
    return "".join(
        line for line in result.migrated.splitlines(keepends=True) if line.rstrip() not in added
    )


# (TF1 line, migrated line) with `import tensorflow as tf` above both.
RULES = [
    # tf.contrib.tpu and tf.compat.v1.estimator.tpu -> estimator_core.compat.tpu
    (
        "est = tf.contrib.tpu.TPUEstimator(model_fn=f, use_tpu=False)",
        "est = estimator_core.compat.tpu.TPUEstimator(model_fn=f, use_tpu=False)",
    ),
    (
        "c = tf.contrib.tpu.RunConfig(tpu_config=tf.contrib.tpu.TPUConfig(2))",
        "c = estimator_core.compat.tpu.RunConfig(tpu_config=estimator_core.compat.tpu.TPUConfig(2))",
    ),
    (
        "p = tf.contrib.tpu.InputPipelineConfig.PER_HOST_V2",
        "p = estimator_core.compat.tpu.InputPipelineConfig.PER_HOST_V2",
    ),
    (
        "s = tf.compat.v1.estimator.tpu.TPUEstimatorSpec(mode, loss=l)",
        "s = estimator_core.compat.tpu.TPUEstimatorSpec(mode, loss=l)",
    ),
    # tf_upgrade_v2's own rename, kept: CrossShardOptimizer lives on in tf.compat.v1.tpu
    ("o = tf.contrib.tpu.CrossShardOptimizer(o)", "o = tf.compat.v1.tpu.CrossShardOptimizer(o)"),
    # tf.estimator names the engine has
    (
        "if mode == tf.estimator.ModeKeys.TRAIN: pass",
        "if mode == estimator_core.ModeKeys.TRAIN: pass",
    ),
    ("s = tf.estimator.EstimatorSpec(m, loss=l)", "s = estimator_core.EstimatorSpec(m, loss=l)"),
    (
        "o = tf.estimator.export.PredictOutput(p)",
        "o = estimator_core.export.PredictOutput(p)",
    ),
    (
        "r = tf.estimator.export.ServingInputReceiver(f, f)",
        "r = estimator_core.export.ServingInputReceiver(f, f)",
    ),
    (
        "r = tf.estimator.export.TensorServingInputReceiver(features=i, receiver_tensors=b)",
        "r = estimator_core.export.TensorServingInputReceiver(features=i, receiver_tensors=b)",
    ),
    ("t = tf.estimator.TrainSpec(i, max_steps=3)", "t = estimator_core.TrainSpec(i, max_steps=3)"),
    # flags and app
    ("flags = tf.flags", "flags = tf.compat.v1.flags"),
    ('tf.flags.DEFINE_string("x", None, "x")', 'tf.compat.v1.flags.DEFINE_string("x", None, "x")'),
    ("F = tf.app.flags.FLAGS", "F = tf.compat.v1.flags.FLAGS"),
    ("tf.app.run()", "tf.compat.v1.app.run()"),
    # layers: graph-mode compat layers (variable names of TF1 checkpoints)
    ("y = tf.layers.dense(x, 3, name='out')", "y = tf.compat.v1.layers.dense(x, 3, name='out')"),
    # contrib layer_norm -> the engine's contrib-compatible one
    (
        "y = tf.contrib.layers.layer_norm(x, begin_norm_axis=-1, begin_params_axis=-1)",
        "y = estimator_core.compat.layers.layer_norm(x, begin_norm_axis=-1, begin_params_axis=-1)",
    ),
    # tf.contrib.data / cluster_resolver (tf_upgrade_v2 and ours agree)
    (
        "d = d.apply(tf.contrib.data.map_and_batch(f, batch_size=8))",
        "d = d.apply(tf.data.experimental.map_and_batch(f, batch_size=8))",
    ),
    ("n = tf.contrib.data.AUTOTUNE", "n = tf.data.experimental.AUTOTUNE"),
    (
        "r = tf.contrib.cluster_resolver.TPUClusterResolver(tpu='x')",
        "r = tf.distribute.cluster_resolver.TPUClusterResolver(tpu='x')",
    ),
    # TF2 shapes hold ints
    ("h = t.shape[-1].value", "h = tf.compat.dimension_value(t.shape[-1])"),
    ("h = t.get_shape()[1].value", "h = tf.compat.dimension_value(t.get_shape()[1])"),
    # tf_upgrade_v2's renames come through
    ("tf.logging.info('x')", "tf.compat.v1.logging.info('x')"),
    ("g = tf.gfile.GFile(p)", "g = tf.io.gfile.GFile(p)"),
    ("o = tf.train.AdamOptimizer(0.1)", "o = tf.compat.v1.train.AdamOptimizer(0.1)"),
]


@pytest.mark.parametrize("before, after", RULES, ids=[b for b, _ in RULES])
def test_each_rule_rewrites_its_line(before, after):
    result = migrate(f"import tensorflow as tf\n{before}\n")
    assert body(result) == f"import tensorflow as tf\n{after}\n"
    assert result.manual == ()
    again = migrate_source(result.migrated, "m.py")
    assert again.migrated == result.migrated  # idempotent


def test_engine_names_get_one_import_and_layers_the_legacy_keras_switch():
    result = migrate(
        """
        '''Docstring.'''
        import tensorflow as tf
        x = tf.layers.dense(tf.zeros([1, 2]), 1)
        m = tf.estimator.ModeKeys.PREDICT
        """
    )
    assert result.migrated.splitlines()[:5] == [
        "'''Docstring.'''",
        "from estimator_core.compat import legacy_keras  # noqa: F401",  # before TF loads
        "import tensorflow as tf",
        "import estimator_core",
        "x = tf.compat.v1.layers.dense(tf.zeros([1, 2]), 1)",
    ]
    notes = " ".join(c.note for c in result.changes)
    assert "tf-keras" in notes and "TF_USE_LEGACY_KERAS=1" in notes


def test_compat_v1_files_keep_their_alias():
    result = migrate(
        """
        import tensorflow.compat.v1 as tf
        from tensorflow.compat.v1 import estimator as tf_estimator
        y = tf.layers.dense(x, 2)
        if mode == tf_estimator.ModeKeys.TRAIN:
            s = tf_estimator.tpu.TPUEstimatorSpec(mode, loss=l)
        f = tf.flags.FLAGS
        """
    )
    assert body(result) == textwrap.dedent(
        """\
        import tensorflow.compat.v1 as tf
        y = tf.layers.dense(x, 2)
        if mode == estimator_core.ModeKeys.TRAIN:
            s = estimator_core.compat.tpu.TPUEstimatorSpec(mode, loss=l)
        f = tf.flags.FLAGS
        """
    )  # the estimator import is gone once nothing uses it; tf.layers on compat.v1 stays
    assert "from estimator_core.compat import legacy_keras  # noqa: F401" in result.migrated


def test_contrib_imports_are_rewritten_to_the_engine():
    result = migrate(
        """
        import tensorflow as tf
        from tensorflow.contrib.tpu.python.tpu import tpu_estimator
        from tensorflow.contrib.tpu.python.tpu import tpu_config
        from tensorflow.contrib import tpu as contrib_tpu
        from tensorflow.contrib import cluster_resolver as contrib_cluster_resolver
        from tensorflow.contrib import data as contrib_data
        e = tpu_estimator.TPUEstimator(model_fn=f, config=tpu_config.RunConfig())
        o = contrib_tpu.CrossShardOptimizer(o)
        r = contrib_cluster_resolver.TPUClusterResolver("t")
        d = contrib_data.map_and_batch(f, 2)
        """
    )
    assert body(result) == textwrap.dedent(
        """\
        import tensorflow as tf
        from estimator_core.compat import tpu as tpu_estimator
        from estimator_core.compat import tpu as tpu_config
        e = tpu_estimator.TPUEstimator(model_fn=f, config=tpu_config.RunConfig())
        o = tf.compat.v1.tpu.CrossShardOptimizer(o)
        r = tf.distribute.cluster_resolver.TPUClusterResolver("t")
        d = tf.data.experimental.map_and_batch(f, 2)
        """
    )  # tf_upgrade_v2 follows the aliases of the names it knows: their imports go unused, and go
    assert result.manual == ()


def test_an_alias_still_in_use_is_rebound_to_the_new_module():
    result = migrate(
        """
        import tensorflow as tf
        from tensorflow.contrib import cluster_resolver as contrib_cluster_resolver
        resolver_module = contrib_cluster_resolver
        """
    )
    assert body(result) == textwrap.dedent(
        """\
        import tensorflow as tf
        contrib_cluster_resolver = tf.distribute.cluster_resolver
        resolver_module = contrib_cluster_resolver
        """
    )


def test_strings_comments_and_other_formatting_are_untouched():
    source = textwrap.dedent(
        """\
        import tensorflow as tf
        # tf.contrib.tpu.TPUEstimator and tf.flags in a comment
        s = "tf.contrib.tpu.TPUEstimator(tf.layers.dense)"  # tf.estimator.ModeKeys
        t = '''tf.flags
        tf.estimator.ModeKeys'''
        x  =  [ 1,2 ,3 ]   # odd spacing kept
        m = tf.estimator.ModeKeys.EVAL  # trailing comment kept
        """
    )
    result = migrate_source(source, "m.py")
    want = source.replace(
        "m = tf.estimator.ModeKeys.EVAL", "m = estimator_core.ModeKeys.EVAL"
    ).replace("import tensorflow as tf\n", "import tensorflow as tf\nimport estimator_core\n")
    assert result.migrated == want


def test_graph_mode_code_outside_the_engine_gets_disable_v2_behavior_only_there():
    graph = migrate(
        """
        import tensorflow as tf
        x = tf.placeholder(tf.float32, [None, 3])
        sess = tf.Session()
        """
    )
    assert graph.migrated.splitlines()[:3] == [
        "import tensorflow as tf",
        "tf.compat.v1.disable_v2_behavior()",
        "x = tf.compat.v1.placeholder(tf.float32, [None, 3])",
    ]
    assert any("graph-mode" in c.note for c in graph.changes)
    assert migrate_source(graph.migrated, "m.py").migrated == graph.migrated
    inside = migrate(
        """
        import tensorflow as tf
        def serving_input_fn():
            x = tf.placeholder(tf.float32, [None, 3])
        """
    )  # the engine builds this function's graph: nothing to disable
    assert "disable_v2_behavior" not in inside.migrated


def test_what_cannot_be_converted_is_reported_with_line_reason_and_fix():
    result = migrate(
        """
        import tensorflow as tf
        from tensorflow.contrib.tpu.python.tpu import async_checkpoint
        est = tf.estimator.DNNClassifier(hidden_units=[3])
        h = async_checkpoint.AsyncCheckpointSaverHook("d")
        w = tf.contrib.tpu.TPUDistributionStrategy
        """
    )
    by_line = {p.line: p for p in result.manual}
    assert sorted(by_line) == [2, 3, 4, 5]
    assert "tf.estimator.DNNClassifier" in by_line[3].reason
    assert "canned estimators" in by_line[3].reason and "Estimator" in by_line[3].fix
    assert "asynchronous checkpointing" in by_line[4].reason
    assert "CheckpointSaverHook" in by_line[4].fix
    assert "TPUDistributionStrategy" in by_line[5].reason
    assert by_line[3].code == "est = tf.estimator.DNNClassifier(hidden_units=[3])"


def test_python2_files_are_left_alone_and_reported():
    result = migrate_source("import tensorflow as tf\nprint 'hi'\n", "old.py")
    assert not result.changed
    (problem,) = result.problems
    assert problem.line == 2 and "not Python 3" in problem.reason and "2to3" in problem.fix


def test_a_file_tf_upgrade_v2_cannot_read_still_gets_our_rewrites_and_a_report():
    # pasta (under tf_upgrade_v2) rejects parenthesized slice bounds (tensorflow/tpu's
    # mask_rcnn/coco_metric.py); migrating a tree that holds such a file must not crash.
    result = migrate(
        """
        import tensorflow as tf
        def crop(a, y0, y1, r):
            return a[(y0 - r[1]):(y1 - r[1]), :]
        m = tf.estimator.ModeKeys.EVAL
        """
    )
    assert "m = estimator_core.ModeKeys.EVAL" in result.migrated
    (problem,) = result.manual
    assert problem.line == 3 and "could not read this file" in problem.reason
    assert "tf_upgrade_v2" in problem.fix or "tf_upgrade_v2" in problem.reason
