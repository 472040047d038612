"""Migrate rules for tf.estimator's names, in every spelling TF <= 2.15 had for them.

Each public name of TF 2.15's `tf.estimator` converts to its estimator_core or
`tf.compat.v1.train` equivalent, or is reported with a fix for that name; tensorflow_estimator's
modules (also shipped as `tensorflow.python.estimator`) follow, their private helpers named.
"""

from __future__ import annotations

from estimator_core.migrate.rule_kinds import COMPAT_TPU, Manual, Rename

# tf.estimator names with an equivalent of the same name in estimator_core (the plain
# Estimator API); each converts once `import estimator_core` provides it (see _engine_has).
_ESTIMATOR_NAMES = (
    "BestExporter",
    "Estimator",
    "EstimatorSpec",
    "EvalSpec",
    "Exporter",
    "FinalExporter",
    "LatestExporter",
    "ModeKeys",
    "TrainSpec",
    "WarmStartSettings",
    "train_and_evaluate",
)
# What to write where estimator_core lacks one of those names.
_ESTIMATOR_FALLBACKS = {
    "Estimator": "write the model_fn for estimator_core.TPUEstimator(use_tpu=False, ...) instead",
    "FinalExporter": "export once after training with estimator.export_saved_model(...), or use "
    "estimator_core.LatestExporter(name, serving_input_receiver_fn, exports_to_keep=1)",
}
# Names TF 2.15's tf.estimator re-exported from tf.compat.v1.train (hooks and their helpers).
TRAIN_REEXPORTS = (
    "CheckpointSaverHook",
    "CheckpointSaverListener",
    "FeedFnHook",
    "FinalOpsHook",
    "GlobalStepWaiterHook",
    "LoggingTensorHook",
    "NanLossDuringTrainingError",
    "NanTensorHook",
    "ProfilerHook",
    "SecondOrStepTimer",
    "SessionRunArgs",
    "SessionRunContext",
    "SessionRunHook",
    "SessionRunValues",
    "StepCounterHook",
    "StopAtStepHook",
    "SummarySaverHook",
    "VocabInfo",
)
_CANNED = Manual(
    "canned estimators were removed with tf.estimator in TF 2.16 and have no engine equivalent",
    "write a model_fn (tf.compat.v1.layers or Keras layers) that returns "
    "estimator_core.EstimatorSpec, and pass it to estimator_core.Estimator",
)
_HEAD = Manual(
    "estimator heads were removed with tf.estimator in TF 2.16",
    "compute the loss, predictions and eval_metric_ops in the model_fn (e.g. "
    "tf.compat.v1.losses.sparse_softmax_cross_entropy, tf.compat.v1.metrics.accuracy)",
)
_EARLY_STOP = Manual(
    "tf.estimator.experimental's early-stopping hooks were removed in TF 2.16",
    "write a tf.compat.v1.train.SessionRunHook whose after_run reads the latest eval metrics "
    "(model_dir/eval events) and calls run_context.request_stop()",
)
_CANNED_NAMES = [
    "BaselineClassifier",
    "BaselineEstimator",
    "BaselineRegressor",
    "BoostedTreesClassifier",
    "BoostedTreesEstimator",
    "BoostedTreesRegressor",
    "DNNClassifier",
    "DNNEstimator",
    "DNNRegressor",
    "DNNLinearCombinedClassifier",
    "DNNLinearCombinedEstimator",
    "DNNLinearCombinedRegressor",
    "LinearClassifier",
    "LinearEstimator",
    "LinearRegressor",
    "experimental.LinearSDCA",
    "experimental.RNNClassifier",
    "experimental.RNNEstimator",
    "experimental.KMeans",
    "experimental.dnn_logit_fn_builder",
    "experimental.linear_logit_fn_builder",
    "experimental.call_logit_fn",
]
_HEAD_NAMES = [
    "Head",
    "BinaryClassHead",
    "MultiClassHead",
    "MultiHead",
    "MultiLabelHead",
    "RegressionHead",
    "LogisticRegressionHead",
    "PoissonRegressionHead",
]
_EARLY_STOP_NAMES = [
    "experimental.make_early_stopping_hook",
    "experimental.stop_if_higher_hook",
    "experimental.stop_if_lower_hook",
    "experimental.stop_if_no_decrease_hook",
    "experimental.stop_if_no_increase_hook",
]
_OTHER_ESTIMATOR = {
    "add_metrics": Manual(
        "tf.estimator.add_metrics was removed in TF 2.16",
        "add the metrics to the model_fn's EstimatorSpec(eval_metric_ops=...)",
    ),
    "classifier_parse_example_spec": Manual(
        "tf.estimator's parse-spec helpers were removed in TF 2.16",
        "build it by hand: tf.feature_column.make_parse_example_spec(feature_columns) plus "
        "{label_key: tf.io.FixedLenFeature([1], tf.int64)}",
    ),
    "regressor_parse_example_spec": Manual(
        "tf.estimator's parse-spec helpers were removed in TF 2.16",
        "build it by hand: tf.feature_column.make_parse_example_spec(feature_columns) plus "
        "{label_key: tf.io.FixedLenFeature([1], tf.float32)}",
    ),
    "inputs": Manual(
        "tf.estimator.inputs (numpy_input_fn, pandas_input_fn) was removed in TF 2.16",
        "write an input_fn returning "
        "tf.data.Dataset.from_tensor_slices((features, labels)).shuffle(n).batch(batch_size)",
    ),
    "experimental.InMemoryEvaluatorHook": Manual(
        "InMemoryEvaluatorHook was removed with tf.estimator in TF 2.16",
        "evaluate between trainings: estimator_core.train_and_evaluate(estimator, train_spec, "
        "eval_spec), or estimator.evaluate(...) after each estimator.train(...)",
    ),
    "experimental.make_stop_at_checkpoint_step_hook": Manual(
        "make_stop_at_checkpoint_step_hook was removed with tf.estimator in TF 2.16",
        "use tf.compat.v1.train.StopAtStepHook(last_step=N)",
    ),
    "experimental.build_raw_supervised_input_receiver_fn": Manual(
        "supervised (train/eval) SavedModels are not exported here",
        "export the PREDICT graph with "
        "estimator_core.export.build_raw_serving_input_receiver_fn(features)",
    ),
    "export.EvalOutput": Manual(
        "exports here are PREDICT SavedModels; an EvalOutput has nowhere to go",
        "drop it from export_outputs (keep PredictOutput / ClassificationOutput / "
        "RegressionOutput)",
    ),
}
# tensorflow_estimator's modules (TF <= 2.15 also shipped them as tensorflow.python.estimator.*,
# read as tensorflow_estimator.python.estimator.* by `canonical`): their public names, and the
# tf.estimator name each is.
_PRIVATE_ROOT = "tensorflow_estimator.python.estimator"
_MODULE_NAMES = {
    "estimator": ("Estimator", "WarmStartSettings", "VocabInfo"),
    "model_fn": ("EstimatorSpec",),
    "run_config": ("RunConfig",),
    "training": ("TrainSpec", "EvalSpec", "train_and_evaluate"),
    "exporter": ("Exporter", "BestExporter", "FinalExporter", "LatestExporter"),
    "mode_keys": ("ModeKeys",),
    "export.export_output": (
        "ExportOutput",
        "ClassificationOutput",
        "RegressionOutput",
        "PredictOutput",
        "EvalOutput",
    ),
    "export.export": (
        "ServingInputReceiver",
        "TensorServingInputReceiver",
        "build_parsing_serving_input_receiver_fn",
        "build_raw_serving_input_receiver_fn",
    ),
    "export.export_lib": (
        "ServingInputReceiver",
        "TensorServingInputReceiver",
        "build_parsing_serving_input_receiver_fn",
        "build_raw_serving_input_receiver_fn",
    ),
}
_PRIVATE_HELPERS = {
    "estimator._load_global_step_from_checkpoint_dir": Rename(
        "estimator_core.compat.estimator.load_global_step_from_checkpoint_dir"
    ),
}


def _engine_has(name: str) -> bool:
    import estimator_core  # its names load lazily: this does not import TensorFlow

    return name in estimator_core.__all__


def _estimator_rules() -> dict:
    found = {}
    for name in _ESTIMATOR_NAMES:
        if _engine_has(name):
            found[name] = Rename(f"estimator_core.{name}")
        else:
            found[name] = Manual(
                f"estimator_core has no {name}", _ESTIMATOR_FALLBACKS.get(name, "see docs")
            )
    found["RunConfig"] = Rename(f"{COMPAT_TPU}.RunConfig")  # takes the legacy-only fields
    found["tpu"] = Rename(COMPAT_TPU)
    found["export"] = Rename("estimator_core.export")
    found |= {name: Rename(f"tensorflow.compat.v1.train.{name}") for name in TRAIN_REEXPORTS}
    found |= {name: _CANNED for name in _CANNED_NAMES}
    found |= {name: _HEAD for name in _HEAD_NAMES}
    found |= {name: _EARLY_STOP for name in _EARLY_STOP_NAMES}
    found |= _OTHER_ESTIMATOR
    return {f"tensorflow.estimator.{name}": rule for name, rule in found.items()}


def _module_rules(estimator: dict) -> dict:
    found = {}
    for module, names in _MODULE_NAMES.items():
        public = "export." if module.startswith("export") else ""
        for name in names:
            # export's names convert with their module (one rule), EvalOutput excepted
            same = estimator.get(f"tensorflow.estimator.{public}{name}")
            found[f"{_PRIVATE_ROOT}.{module}.{name}"] = same or Rename(
                f"estimator_core.export.{name}"
            )
        found[f"{_PRIVATE_ROOT}.{module}"] = Manual(
            f"{module} was a module of tensorflow_estimator (gone with TF 2.16); this name is "
            "private to it",
            f"use its public names from estimator_core ({', '.join(names)}); for a private "
            "helper, copy what it did into your code",
        )
    found |= {f"{_PRIVATE_ROOT}.{name}": rule for name, rule in _PRIVATE_HELPERS.items()}
    for package, rule in (("canned", _CANNED), ("head", _HEAD)):
        found[f"{_PRIVATE_ROOT}.{package}"] = rule
    found[_PRIVATE_ROOT] = Manual(
        "tensorflow_estimator stopped at TF 2.15 and this module has no engine equivalent",
        "import the public names from estimator_core (Estimator, EstimatorSpec, RunConfig, "
        "TrainSpec, EvalSpec, train_and_evaluate, ModeKeys, export, exporters)",
    )
    return found


_ESTIMATOR_RULES = _estimator_rules()
ESTIMATOR_RULES = {**_ESTIMATOR_RULES, **_module_rules(_ESTIMATOR_RULES)}
PRIVATE_ROOT = _PRIVATE_ROOT
