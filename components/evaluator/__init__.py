"""Evaluator: metrics, confusion matrix and slices of a checkpoint on the eval split, then blessing.

Example:
    from components import evaluator
    result = evaluator.run("out/examples", "out/model", "out/eval",
                           thresholds=["accuracy>=0.9"], baseline_model_dir="out/model_prev")
    result.blessed, result.metrics["accuracy"]

Names are imported on first use, so the `tpuest evaluate` CLI starts without TensorFlow.
"""

from components.lazy import exports

_EXPORTS = {
    "Blessing": "components.blessing",
    "Threshold": "components.blessing",
    "EvaluatorArgs": "components.evaluator.args",
    "EvaluatorResult": "components.evaluator.evaluate",
    "UnknownFeatureError": "components.evaluator.evaluate",
    "run": "components.evaluator.evaluate",
}
__all__ = sorted(_EXPORTS)

__getattr__ = exports(__name__, _EXPORTS)
