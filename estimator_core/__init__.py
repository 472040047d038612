"""The TPUEstimator API (model_fn/input_fn, per-shard batches, host loops) on TensorFlow 2.21."""

from estimator_core import export, tpu_estimator
from estimator_core.config import InputPipelineConfig, RunConfig, TPUConfig, WarmStartSettings
from estimator_core.estimator import TPUEstimator
from estimator_core.hooks import NanLossError
from estimator_core.mode_keys import ModeKeys
from estimator_core.spec import EstimatorSpec, TPUEstimatorSpec

__all__ = [
    "EstimatorSpec",
    "InputPipelineConfig",
    "ModeKeys",
    "NanLossError",
    "RunConfig",
    "TPUConfig",
    "TPUEstimator",
    "TPUEstimatorSpec",
    "WarmStartSettings",
    "export",
    "tpu_estimator",
]
