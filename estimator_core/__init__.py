"""The TPUEstimator API (model_fn/input_fn, per-shard batches, host loops) on TensorFlow 2.21.

Names are imported on first use, so `import estimator_core` (and the CLI) stays fast until the
engine is actually needed.
"""

import importlib

_EXPORTS = {
    "BestExporter": "estimator_core.exporters",
    "Estimator": "estimator_core.estimator",
    "EstimatorSpec": "estimator_core.spec",
    "EvalSpec": "estimator_core.outer_loops",
    "Exporter": "estimator_core.exporters",
    "InputPipelineConfig": "estimator_core.config",
    "LatestExporter": "estimator_core.exporters",
    "ModeKeys": "estimator_core.mode_keys",
    "NanLossError": "estimator_core.hooks",
    "RunConfig": "estimator_core.config",
    "TPUConfig": "estimator_core.config",
    "TPUEstimator": "estimator_core.tpu_estimator",
    "TPUEstimatorSpec": "estimator_core.spec",
    "TrainSpec": "estimator_core.outer_loops",
    "WarmStartSettings": "estimator_core.config",
    "train_and_evaluate": "estimator_core.outer_loops",
}
_MODULES = ("compat", "export", "tpu_estimator")

__all__ = sorted([*_EXPORTS, *_MODULES])


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(f"estimator_core.{name}")
    else:
        raise AttributeError(f"module 'estimator_core' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return __all__
