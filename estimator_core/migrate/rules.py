"""What `tpuest migrate` rewrites after tf_upgrade_v2, and what it can only report.

Names are fully qualified (`tensorflow.contrib.tpu.TPUEstimator`, whatever alias the file uses)
with `tensorflow.compat.v1.` read as `tensorflow.`; the longest matching prefix wins. A target
starting with `tensorflow.` is written with the file's own TensorFlow alias (`tf.`).
"""

from __future__ import annotations

from estimator_core.migrate.estimator_rules import ESTIMATOR_RULES, PRIVATE_ROOT, TRAIN_REEXPORTS
from estimator_core.migrate.rule_kinds import COMPAT_TPU, Manual, Rename

__all__ = [
    "COMPAT_TPU",
    "DISABLE_V2",
    "GRAPH_ONLY",
    "GRAPH_ONLY_CANONICAL",
    "LAYER_NORM",
    "LEGACY_KERAS_IMPORT",
    "LEGACY_KERAS_NOTE",
    "PACKAGES_TO_MIGRATE",
    "RULES",
    "TF_SLIM_NOTE",
    "TRAIN_REEXPORTS",
    "Manual",
    "Rename",
    "canonical",
    "lookup",
]

LAYER_NORM = "estimator_core.compat.layers.layer_norm"
LEGACY_KERAS_IMPORT = "from estimator_core.compat import legacy_keras  # noqa: F401"
LEGACY_KERAS_NOTE = (
    "TF1-era tf.keras and tf.compat.v1.layers are Keras 2, which TF 2.21 runs as tf-keras: the "
    "'legacy' extra (pip install 'tpuest[legacy]'); the added `estimator_core.compat."
    "legacy_keras` import sets TF_USE_LEGACY_KERAS=1 before TensorFlow loads"
)

_INITIALIZERS = ("variance_scaling_initializer", "xavier_initializer", "xavier_initializer_conv2d")
TF_SLIM_NOTE = "tf.contrib.slim is the tf-slim package now: pip install tf-slim"
_SLIM_FRAMEWORK = (
    "arg_scope",
    "add_arg_scope",
    "variable",
    "model_variable",
    "assign_from_checkpoint_fn",
    "get_variables_to_restore",
    "get_model_variables",
)

RULES: dict[str, Rename | Manual] = {
    # TPUEstimator and its configs: the engine's legacy-tolerant names.
    "tensorflow.contrib.tpu": Rename(COMPAT_TPU),
    "tensorflow.contrib.tpu.python.tpu": Rename(COMPAT_TPU),
    "tensorflow.contrib.tpu.python.tpu.tpu_estimator": Rename(COMPAT_TPU),
    "tensorflow.contrib.tpu.python.tpu.tpu_config": Rename(COMPAT_TPU),
    "tensorflow.contrib.tpu.python.tpu.tpu_optimizer": Rename(COMPAT_TPU),
    # contrib's TPU ops module: the public ones (cross_replica_sum, ...) are tf.compat.v1.tpu's.
    "tensorflow.contrib.tpu.python.ops.tpu_ops": Rename("tensorflow.compat.v1.tpu"),
    "tensorflow.contrib.tpu.python.tpu.async_checkpoint": Manual(
        "asynchronous checkpointing is a TPU-infeed feature with no equivalent here",
        "use tf.compat.v1.train.CheckpointSaverHook, or drop the hook (the engine saves "
        "checkpoints per RunConfig.save_checkpoints_steps)",
    ),
    "tensorflow.estimator.tpu": Rename(COMPAT_TPU),
    "tensorflow_estimator.python.estimator.tpu": Rename(COMPAT_TPU),
    "tensorflow_estimator.python.estimator.tpu.tpu_estimator": Rename(COMPAT_TPU),
    "tensorflow_estimator.python.estimator.tpu.tpu_config": Rename(COMPAT_TPU),
    **ESTIMATOR_RULES,
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
    **{
        f"tensorflow.contrib.layers.{name}": Rename(f"estimator_core.compat.{module}.{name}")
        for module, names in (
            ("initializers", _INITIALIZERS),
            ("regularizers", ("l1_regularizer", "l2_regularizer", "l1_l2_regularizer")),
        )
        for name in names
    },
    "tensorflow.contrib.layers": Manual(
        "tf.contrib.layers is gone; only layer_norm and the initializers and regularizers have "
        "drop-ins here",
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
    "tensorflow.contrib.training.python.training.evaluation.checkpoints_iterator": Rename(
        "tensorflow.train.checkpoints_iterator"
    ),
    # contrib.framework's checkpoint readers and global-step helpers were tf.train's.
    **{
        f"tensorflow.contrib.framework.{name}": Rename(f"tensorflow.train.{name}")
        for name in ("list_variables", "load_checkpoint", "load_variable")
    },
    **{
        f"tensorflow.contrib.framework.{name}": Rename(f"tensorflow.compat.v1.train.{name}")
        for name in ("get_global_step", "get_or_create_global_step")
    },
    # contrib.slim lives on as the tf-slim package: the same layers, arg_scope and variables.
    "tensorflow.contrib.slim": Rename("tf_slim", TF_SLIM_NOTE),
    "tensorflow.contrib.layers.flatten": Rename("tf_slim.flatten", TF_SLIM_NOTE),
    **{
        f"tensorflow.contrib.framework.{name}": Rename(f"tf_slim.{name}", TF_SLIM_NOTE)
        for name in _SLIM_FRAMEWORK
    },
    **{
        f"tensorflow.contrib.framework.python.ops.{name}": Rename(f"tf_slim.{name}", TF_SLIM_NOTE)
        for name in ("arg_scope", "add_arg_scope")
    },
    "tensorflow.contrib.data": Rename("tensorflow.data.experimental"),
    "tensorflow.contrib.cluster_resolver": Rename("tensorflow.distribute.cluster_resolver"),
    "tensorflow.contrib.summary": Rename("tensorflow.compat.v2.summary"),
    "tensorflow.contrib": Manual(
        "tf.contrib was removed in TF 2.0",
        "find this symbol's TF2 or tf.compat.v1 equivalent (TF's tf_upgrade_v2 docs list many)",
    ),
}

# Packages that import tf.estimator when they load: a script's import of the package is reported
# (its uses stay as written) with the way to run them, migrating the package's own copy.
PACKAGES_TO_MIGRATE: dict[str, Manual] = {
    "tensorflow_gan": Manual(
        "tensorflow-gan subclasses tf.estimator's classes when it is imported (GANEstimator, "
        "TPUGANEstimator, its train hooks) and TF 2.16+ has no tf.estimator, so the import fails",
        "migrate a copy of the package too (tpuest migrate SITE_PACKAGES/tensorflow_gan --out "
        "DIR/tensorflow_gan) and put DIR first on PYTHONPATH; this file's uses then run as written",
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
    ("tensorflow.python.estimator", PRIVATE_ROOT),
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
