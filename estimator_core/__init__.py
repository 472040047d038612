"""The TPUEstimator API (model_fn/input_fn, per-shard batches, host loops) on TensorFlow 2.21."""

from estimator_core import export, tpu_estimator
from estimator_core.config import InputPipelineConfig, RunConfig, TPUConfig, WarmStartSettings
from estimator_core.estimator import TPUEstimator
from estimator_core.exporters import BestExporter, Exporter, LatestExporter
from estimator_core.hooks import NanLossError
from estimator_core.mode_keys import ModeKeys
from estimator_core.spec import EstimatorSpec, TPUEstimatorSpec
from estimator_core.train_and_evaluate import EvalSpec, TrainSpec, train_and_evaluate

__all__ = [
    "BestExporter",
    "EvalSpec",
    "Exporter",
    "LatestExporter",
    "TrainSpec",
    "train_and_evaluate",
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
