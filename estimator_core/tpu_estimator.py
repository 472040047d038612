"""Legacy import path: `tpu_estimator.TPUEstimator`, as code written for tf.contrib.tpu spells it."""

from estimator_core.config import InputPipelineConfig, RunConfig, TPUConfig
from estimator_core.estimator import TPUEstimator
from estimator_core.spec import TPUEstimatorSpec

__all__ = ["InputPipelineConfig", "RunConfig", "TPUConfig", "TPUEstimator", "TPUEstimatorSpec"]
