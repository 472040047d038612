"""tpuest migrate on plain-Estimator code: every tf.estimator name TF 2.15 exported is converted
or reported with a fix for that name; tensorflow_estimator / tensorflow.python.estimator imports;
uses of aliased contrib modules."""

import os
import textwrap

import pytest

import estimator_core
from estimator_core.migrate import migrate_source, rules

# Every public name of TF 2.15's tf.estimator (and tf.compat.v1.estimator), read from
# /work/legacy-venv: `sorted(n for n in dir(tf.estimator) if not n.startswith("_"))`.
TF215_ESTIMATOR = [
    "BaselineClassifier",
    "BaselineEstimator",
    "BaselineRegressor",
    "BestExporter",
    "BinaryClassHead",
    "CheckpointSaverHook",
    "CheckpointSaverListener",
    "DNNClassifier",
    "DNNEstimator",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedEstimator",
    "DNNLinearCombinedRegressor",
    "DNNRegressor",
    "Estimator",
    "EstimatorSpec",
    "EvalSpec",
    "Exporter",
    "FeedFnHook",
    "FinalExporter",
    "FinalOpsHook",
    "GlobalStepWaiterHook",
    "Head",
    "LatestExporter",
    "LinearClassifier",
    "LinearEstimator",
    "LinearRegressor",
    "LoggingTensorHook",
    "LogisticRegressionHead",
    "ModeKeys",
    "MultiClassHead",
    "MultiHead",
    "MultiLabelHead",
    "NanLossDuringTrainingError",
    "NanTensorHook",
    "PoissonRegressionHead",
    "ProfilerHook",
    "RegressionHead",
    "RunConfig",
    "SecondOrStepTimer",
    "SessionRunArgs",
    "SessionRunContext",
    "SessionRunHook",
    "SessionRunValues",
    "StepCounterHook",
    "StopAtStepHook",
    "SummarySaverHook",
    "TrainSpec",
    "VocabInfo",
    "WarmStartSettings",
    "add_metrics",
    "classifier_parse_example_spec",
    "regressor_parse_example_spec",
    "train_and_evaluate",
    "inputs.numpy_input_fn",
    "experimental.InMemoryEvaluatorHook",
    "experimental.LinearSDCA",
    "experimental.RNNClassifier",
    "experimental.RNNEstimator",
    "experimental.build_raw_supervised_input_receiver_fn",
    "experimental.call_logit_fn",
    "experimental.make_early_stopping_hook",
    "experimental.make_stop_at_checkpoint_step_hook",
    "experimental.stop_if_higher_hook",
    "experimental.stop_if_lower_hook",
    "experimental.stop_if_no_decrease_hook",
    "experimental.stop_if_no_increase_hook",
    "experimental.KMeans",
    "export.ClassificationOutput",
    "export.EvalOutput",
    "export.ExportOutput",
    "export.PredictOutput",
    "export.RegressionOutput",
    "export.ServingInputReceiver",
    "export.TensorServingInputReceiver",
    "export.build_parsing_serving_input_receiver_fn",
    "export.build_raw_serving_input_receiver_fn",
]
GENERIC_FIX = rules.RULES["tensorflow.estimator"].fix


def migrate(text: str):
    return migrate_source(textwrap.dedent(text).lstrip("\n"), "m.py")


def line_of(result, code_start: str) -> str:
    (line,) = [x for x in result.migrated.splitlines() if x.startswith(code_start)]
    return line


@pytest.mark.parametrize("name", rules.TRAIN_REEXPORTS)
def test_hook_names_tf_estimator_reexported_become_tf_compat_v1_train(name):
    for spelling in ("tf.estimator", "tf.compat.v1.estimator"):
        result = migrate(f"import tensorflow as tf\nh = {spelling}.{name}\n")
        assert line_of(result, "h =") == f"h = tf.compat.v1.train.{name}"
        assert result.manual == ()


@pytest.mark.parametrize(
    "name",
    ["EstimatorSpec", "TrainSpec", "EvalSpec", "train_and_evaluate", "ModeKeys"]
    + ["Exporter", "BestExporter", "LatestExporter", "WarmStartSettings", "Estimator"],
)
def test_plain_estimator_names_become_estimator_core(name):
    if not hasattr(estimator_core, name):
        pytest.skip(f"estimator_core.{name} has not landed yet")
    result = migrate(f"import tensorflow as tf\ne = tf.estimator.{name}\n")
    assert line_of(result, "e =") == f"e = estimator_core.{name}"
    assert result.manual == ()


def test_run_config_export_outputs_and_receivers_convert():
    result = migrate(
        """
        import tensorflow as tf
        c = tf.estimator.RunConfig(model_dir="m", save_checkpoints_steps=5)
        o = {"a": tf.estimator.export.PredictOutput(p), "b": tf.estimator.export.RegressionOutput(v)}
        r = tf.estimator.export.build_raw_serving_input_receiver_fn({"x": x})
        """
    )
    assert line_of(result, "c =").startswith("c = estimator_core.compat.tpu.RunConfig(")
    assert "estimator_core.export.PredictOutput(p)" in result.migrated
    assert "estimator_core.export.RegressionOutput(v)" in result.migrated
    assert "r = estimator_core.export.build_raw_serving_input_receiver_fn(" in result.migrated
    assert result.manual == ()


@pytest.mark.parametrize("name", TF215_ESTIMATOR)
def test_every_tf215_estimator_name_is_converted_or_reported_with_its_own_fix(name):
    result = migrate(f"import tensorflow as tf\nv = tf.estimator.{name}\n")
    converted = "tf.estimator" not in line_of(result, "v =")
    if converted:
        assert result.manual == ()
        target = line_of(result, "v =")[len("v = ") :]
        module, _, attr = target.replace("tf.", "tensorflow.", 1).rpartition(".")
        assert module.startswith(("estimator_core", "tensorflow.compat.v1.train"))
    else:
        (problem,) = result.manual
        assert f"tf.estimator.{name}" in problem.reason
        assert problem.fix and problem.fix != GENERIC_FIX


def test_tensorflow_python_estimator_imports_convert_and_private_ones_are_named():
    result = migrate(
        """
        import tensorflow as tf
        from tensorflow.python.estimator import estimator
        from tensorflow.python.estimator.export import export_output
        step = estimator._load_global_step_from_checkpoint_dir(FLAGS.model_dir)
        out = export_output.PredictOutput(p)
        """
    )
    assert "from tensorflow.python.estimator" not in result.migrated  # both imports went
    assert (
        "step = estimator_core.compat.estimator.load_global_step_from_checkpoint_dir("
        "FLAGS.model_dir)" in result.migrated
    )
    assert "out = estimator_core.export.PredictOutput(p)" in result.migrated
    assert result.manual == ()
    private = migrate(
        """
        from tensorflow.python.estimator import estimator as estimator_lib
        v = estimator_lib._get_default_mode(m)
        """
    )
    by_line = {p.line: p for p in private.manual}
    assert sorted(by_line) == [1, 2]  # the import (it fails on 2.21) and the use
    assert "estimator_lib._get_default_mode" in by_line[2].reason
    assert "private" in by_line[2].reason and "copy what it did" in by_line[2].fix


def test_tensorflow_estimator_package_names_convert():
    result = migrate(
        """
        import tensorflow_estimator as tf_estimator
        from tensorflow_estimator.python.estimator import model_fn as model_fn_lib
        from tensorflow_estimator.python.estimator.canned import dnn
        m = tf_estimator.estimator.ModeKeys.TRAIN
        s = model_fn_lib.EstimatorSpec(m, loss=l)
        h = tf_estimator.estimator.SessionRunHook
        c = dnn.DNNClassifier([3])
        """
    )
    assert "m = estimator_core.ModeKeys.TRAIN" in result.migrated
    assert "s = estimator_core.EstimatorSpec(m, loss=l)" in result.migrated
    assert "h = tensorflow.compat.v1.train.SessionRunHook" in result.migrated
    assert "import tensorflow_estimator" not in result.migrated  # every use converted
    (problem,) = [p for p in result.manual if p.line == 7]
    assert "dnn.DNNClassifier" in problem.reason and "canned" in problem.reason


def test_every_use_of_an_aliased_contrib_module_is_listed():
    result = migrate(
        """
        import tensorflow as tf
        from tensorflow.contrib import opt as contrib_opt
        def optimizer(lr):
            a = contrib_opt.LazyAdamOptimizer(lr)
            b = contrib_opt.MovingAverageOptimizer(a)
            return b
        """
    )
    by_line = {p.line: p for p in result.manual}
    assert sorted(by_line) == [2, 4, 5]
    assert "contrib_opt.LazyAdamOptimizer" in by_line[4].reason
    assert "tensorflow.contrib.opt.MovingAverageOptimizer" in by_line[5].reason


def test_efficientnet_s_contrib_image_and_hparams_convert_to_the_compat_ones():
    result = migrate(
        """
        import tensorflow as tf
        from tensorflow.contrib import image as contrib_image
        from tensorflow.contrib import training as contrib_training
        a = contrib_image.rotate(x, 0.5)
        b = contrib_image.translate(x, [-3, 0])
        c = contrib_image.transform(x, [1., 0.2, 0., 0., 1., 0., 0., 0.])
        h = contrib_training.HParams(cutout_const=100)
        """
    )
    assert result.manual == ()
    for line in (
        "a = estimator_core.compat.image.rotate(x, 0.5)",
        "b = estimator_core.compat.image.translate(x, [-3, 0])",
        "c = estimator_core.compat.image.transform(x, [1., 0.2, 0., 0., 1., 0., 0., 0.])",
        "h = estimator_core.compat.hparams.HParams(cutout_const=100)",
    ):
        assert line in result.migrated
    assert "tensorflow.contrib" not in result.migrated


def test_albert_s_aliased_contrib_metrics_convert_to_the_compat_ones():
    result = migrate(
        """
        import tensorflow as tf
        from tensorflow.contrib import metrics as contrib_metrics
        def metric_fn(x, y, w):
            a = contrib_metrics.streaming_pearson_correlation(x, y, weights=w)
            b = contrib_metrics.streaming_concat(x)
            c = contrib_metrics.streaming_auc(x, y)
            return a, b, c
        """
    )
    assert "a = estimator_core.compat.metrics.streaming_pearson_correlation(x, y, " in (
        result.migrated
    )
    assert "b = estimator_core.compat.metrics.streaming_concat(x)" in result.migrated
    by_line = {p.line: p for p in result.manual}
    assert sorted(by_line) == [2, 6]  # the import stays for the one use left, which is named
    assert "streaming_auc" in by_line[6].reason and "tf.compat.v1.metrics" in by_line[6].fix


def test_check_model_follows_the_same_rules(tmp_path, capsys):
    from pipelines.tpuest import main

    model = tmp_path / "model.py"
    model.write_text(
        "import tensorflow as tf\n"
        "class Progress(tf.estimator.SessionRunHook):\n"
        "    def before_run(self, ctx):\n"
        "        return tf.estimator.SessionRunArgs({})\n"
        "e = tf.estimator.DNNRegressor([3])\n"
    )
    assert main(["check-model", str(model)]) == 1
    out = capsys.readouterr().out
    assert f"{model}:2: [tpuest] tf.estimator.SessionRunHook -> tf.compat.v1.train." in out
    assert f"{model}:4: [tpuest] tf.estimator.SessionRunArgs -> tf.compat.v1.train." in out
    assert f"{model}:5: MANUAL: tf.estimator.DNNRegressor: canned estimators" in out


def test_load_global_step_from_checkpoint_dir_reads_the_latest_step(tmp_path):
    import tensorflow as tf

    from estimator_core.compat.estimator import load_global_step_from_checkpoint_dir

    assert load_global_step_from_checkpoint_dir(str(tmp_path)) == 0
    with tf.Graph().as_default():
        tf.compat.v1.train.create_global_step()
        assign = tf.compat.v1.assign(tf.compat.v1.train.get_global_step(), 12)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(assign)
            tf.compat.v1.train.Saver().save(
                session, os.path.join(tmp_path, "model.ckpt"), global_step=12
            )
    assert load_global_step_from_checkpoint_dir(str(tmp_path)) == 12


def test_tensorflow_gan_imports_are_reported_with_the_package_to_migrate():
    # tensorflow-gan subclasses tf.estimator's classes when it loads, so on TF 2.21 the import
    # itself fails: the import line is reported with the package to migrate; uses stay.
    inside = migrate("from tensorflow_gan.python import train as tfgan_train\n")
    assert inside.manual == ()  # the package's own modules import its internals: not reported
    result = migrate(
        """
        import tensorflow.compat.v1 as tf
        import tensorflow_gan as tfgan
        est = tfgan.estimator.TPUGANEstimator(generator_fn=g, use_tpu=False)
        loss = tfgan.losses.minimax_generator_loss
        """
    )
    (problem,) = result.manual
    assert problem.line == 2 and "tensorflow_gan" in problem.reason
    assert "tf.estimator" in problem.reason and "tpuest migrate" in problem.fix
    assert "est = tfgan.estimator.TPUGANEstimator(generator_fn=g, use_tpu=False)" in result.migrated
