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
    "tf.compat.v1.layers needs tf-keras: the 'legacy' extra (pip install 'tpuest[legacy]'); "
    "the added `estimator_core.compat.legacy_keras` import sets TF_USE_LEGACY_KERAS=1"
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


_ESTIMATOR_NAMES = (
    "BestExporter",
    "EstimatorSpec",
    "EvalSpec",
    "Exporter",
    "LatestExporter",
    "ModeKeys",
    "TrainSpec",
    "WarmStartSettings",
    "train_and_evaluate",
)

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
    "tensorflow.estimator.export": Rename("estimator_core.export"),
    "tensorflow.estimator.RunConfig": Rename(f"{COMPAT_TPU}.RunConfig"),
    **{
        f"tensorflow.estimator.{name}": Rename(f"estimator_core.{name}")
        for name in _ESTIMATOR_NAMES
    },
    "tensorflow.estimator": Manual(
        "tf.estimator was removed in TF 2.16 and this name has no engine equivalent",
        "write a model_fn and use estimator_core.TPUEstimator(use_tpu=False, ...)",
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


def canonical(name: str) -> str:
    """`tensorflow.compat.v1.X` -> `tensorflow.X` (the TF1 namespace either way)."""
    for prefix in ("tensorflow.compat.v1.", "tensorflow.compat.v2."):
        if name.startswith(prefix) and not name.startswith("tensorflow.compat.v2.summary"):
            return "tensorflow." + name[len(prefix) :]
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
