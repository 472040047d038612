"""What `tpuest migrate` rewrites after tf_upgrade_v2, and what it can only report.

Names are fully qualified (`tensorflow.contrib.tpu.TPUEstimator`, whatever alias the file uses)
with `tensorflow.compat.v1.` read as `tensorflow.`; the longest matching prefix wins. A target
starting with `tensorflow.` is written with the file's own TensorFlow alias (`tf.`).
"""

from __future__ import annotations

import dataclasses

COMPAT_TPU = "estimator_core.compat.tpu"
LAYER_NORM = "estimator_core.compat.layers.layer_norm"
LEGACY_KERAS_IMPORT = "from estimator_core.compat import legacy_keras  # noqa: F401"
LEGACY_KERAS_NOTE = (
    "TF1-era tf.keras and tf.compat.v1.layers are Keras 2, which TF 2.21 runs as tf-keras: the "
    "'legacy' extra (pip install 'tpuest[legacy]'); the added `estimator_core.compat."
    "legacy_keras` import sets TF_USE_LEGACY_KERAS=1 before TensorFlow loads"
)


@dataclasses.dataclass(frozen=True)
class Rename:
    target: str
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Manual:
    """A name with no automatic conversion: why, and what to write instead."""

    reason: str
    fix: str


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

RULES: dict[str, Rename | Manual] = {
    # TPUEstimator and its configs: the engine's legacy-tolerant names.
    "tensorflow.contrib.tpu": Rename(COMPAT_TPU),
    "tensorflow.contrib.tpu.python.tpu": Rename(COMPAT_TPU),
    "tensorflow.contrib.tpu.python.tpu.tpu_estimator": Rename(COMPAT_TPU),
    "tensorflow.contrib.tpu.python.tpu.tpu_config": Rename(COMPAT_TPU),
    "tensorflow.contrib.tpu.python.tpu.tpu_optimizer": Rename(COMPAT_TPU),
    "tensorflow.contrib.tpu.python.tpu.async_checkpoint": Manual(
        "asynchronous checkpointing is a TPU-infeed feature with no equivalent here",
        "use tf.compat.v1.train.CheckpointSaverHook, or drop the hook (the engine saves "
        "checkpoints per RunConfig.save_checkpoints_steps)",
    ),
    "tensorflow.estimator.tpu": Rename(COMPAT_TPU),
    "tensorflow_estimator.python.estimator.tpu": Rename(COMPAT_TPU),
    "tensorflow_estimator.python.estimator.tpu.tpu_estimator": Rename(COMPAT_TPU),
    "tensorflow_estimator.python.estimator.tpu.tpu_config": Rename(COMPAT_TPU),
    **_ESTIMATOR_RULES,
    **_module_rules(_ESTIMATOR_RULES),
    "tensorflow.estimator": Manual(
        "tf.estimator was removed in TF 2.16 and this name is not one TF 2.15 exported",
        "see docs/migration.md for the estimator_core names (Estimator, EstimatorSpec, ...)",
    ),
    "tensorflow_estimator": Manual(
        "tensorflow_estimator stopped at TF 2.15",
        "import the same names from estimator_core (or estimator_core.compat.tpu)",
    ),
    # Command-line flags and the app runner: absl, through tf.compat.v1.
    "tensorflow.flags": Rename("tensorflow.compat.v1.flags"),
    "tensorflow.app.flags": Rename("tensorflow.compat.v1.flags"),
    "tensorflow.app": Rename("tensorflow.compat.v1.app"),
    # Layers: the graph-mode tf.compat.v1.layers keep the variable names of checkpoints.
    "tensorflow.layers": Rename("tensorflow.compat.v1.layers", LEGACY_KERAS_NOTE),
    "tensorflow.contrib.layers.layer_norm": Rename(LAYER_NORM),
    "tensorflow.contrib.layers": Manual(
        "tf.contrib.layers is gone; only layer_norm has a drop-in here",
        "use tf.compat.v1.layers / tf.compat.v1.initializers / keras equivalents of this name",
    ),
    **{
        f"tensorflow.contrib.metrics.{name}": Rename(f"estimator_core.compat.metrics.{name}")
        for name in ("streaming_concat", "streaming_pearson_correlation")
    },
    "tensorflow.contrib.metrics": Manual(
        "tf.contrib.metrics is gone; only streaming_concat and streaming_pearson_correlation "
        "have drop-ins here",
        "use the tf.compat.v1.metrics function of the same meaning (streaming_auc -> auc, "
        "streaming_mean -> mean, streaming_accuracy -> accuracy, ...)",
    ),
    **{
        f"tensorflow.contrib.image.{name}": Rename(f"estimator_core.compat.image.{name}")
        for name in ("rotate", "transform", "translate")
    },
    "tensorflow.contrib.training.HParams": Rename("estimator_core.compat.hparams.HParams"),
    "tensorflow.contrib.data": Rename("tensorflow.data.experimental"),
    "tensorflow.contrib.cluster_resolver": Rename("tensorflow.distribute.cluster_resolver"),
    "tensorflow.contrib.summary": Rename("tensorflow.compat.v2.summary"),
    "tensorflow.contrib": Manual(
        "tf.contrib was removed in TF 2.0",
        "find this symbol's TF2 or tf.compat.v1 equivalent (TF's tf_upgrade_v2 docs list many)",
    ),
}

# Uses that need graph-mode (TF1) behavior when they run outside the engine's graphs.
GRAPH_ONLY = (
    "tensorflow.compat.v1.placeholder",
    "tensorflow.compat.v1.Session",
    "tensorflow.compat.v1.InteractiveSession",
    "tensorflow.compat.v1.global_variables_initializer",
)
GRAPH_ONLY_CANONICAL = frozenset("tensorflow." + name.rsplit(".", 1)[1] for name in GRAPH_ONLY)
DISABLE_V2 = "disable_v2_behavior()"


# Other spellings of one namespace: tensorflow_estimator's public API is tf.estimator's, and
# TF <= 2.15's tensorflow.python.estimator forwarded to tensorflow_estimator's modules.
_ALIASES = (
    ("tensorflow_estimator.compat.v1.estimator", "tensorflow.estimator"),
    ("tensorflow_estimator.estimator", "tensorflow.estimator"),
    ("tensorflow.python.estimator", _PRIVATE_ROOT),
)


def canonical(name: str) -> str:
    """The one spelling rules use: `tensorflow.compat.v1.X` -> `tensorflow.X` (the TF1
    namespace either way), tensorflow_estimator's public API -> `tensorflow.estimator`."""
    for prefix in ("tensorflow.compat.v1.", "tensorflow.compat.v2."):
        if name.startswith(prefix) and not name.startswith("tensorflow.compat.v2.summary"):
            name = "tensorflow." + name[len(prefix) :]
            break
    for alias, spelling in _ALIASES:
        if name == alias or name.startswith(alias + "."):
            return spelling + name[len(alias) :]
    return name


def lookup(name: str) -> tuple[str, Rename | Manual] | None:
    """The longest rule prefix of fully-qualified `name`, with its rule, or None."""
    name = canonical(name)
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        prefix = ".".join(parts[:end])
        if prefix in RULES:
            return prefix, RULES[prefix]
    return None
