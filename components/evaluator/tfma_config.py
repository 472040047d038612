"""Our blessing rules as a TFMA EvalConfig, so TFX's Evaluator blesses by the same thresholds.

`--threshold "accuracy>=0.9"` becomes a TFMA value threshold and `--compare-metric accuracy
--tolerance 0.01` a change threshold against the baseline model (TFMA skips change thresholds
when there is no baseline, as our evaluator blesses a first run). TFMA computes the metrics
from the serving model's `classification` signature (scores and class names, so string labels
work); the metric keys keep our names:

    accuracy      -> SparseCategoricalAccuracy
    loss          -> SparseCategoricalCrossentropy (lower is better)
    auc           -> AUC (two classes)
    example_count -> ExampleCount

Example:
    eval_config = tfma_eval_config(["accuracy>=0.9"], label_key="species",
                                   compare_metric="accuracy", tolerance=0.01)
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from components.blessing import Threshold, lower_is_better

# Our metric name -> the TFMA metric class computing it.
TFMA_METRICS = {
    "accuracy": "SparseCategoricalAccuracy",
    "loss": "SparseCategoricalCrossentropy",
    "auc": "AUC",
    "example_count": "ExampleCount",
}
SIGNATURE = "classification"


def _metric_class(metric: str, what: str) -> str:
    if metric not in TFMA_METRICS:
        raise ValueError(
            f"{what} metric {metric!r} has no TFMA counterpart here; use one of "
            f"{sorted(TFMA_METRICS)}"
        )
    return TFMA_METRICS[metric]


def _value_threshold(tfma, threshold: Threshold):
    # TFMA bounds are inclusive; a strict bound moves to the next float.
    if threshold.op in (">=", ">"):
        bound = (
            threshold.value if threshold.op == ">=" else math.nextafter(threshold.value, math.inf)
        )
        return tfma.GenericValueThreshold(lower_bound={"value": bound})
    bound = threshold.value if threshold.op == "<=" else math.nextafter(threshold.value, -math.inf)
    return tfma.GenericValueThreshold(upper_bound={"value": bound})


def tfma_eval_config(
    thresholds: Sequence[str | Threshold],
    *,
    label_key: str,
    compare_metric: str | None = "accuracy",
    tolerance: float = 0.0,
    signature_name: str = SIGNATURE,
):
    """A tfma.EvalConfig blessing like components.evaluator.run with the same arguments.

    Args:
        thresholds: "metric>=value" rules (ops >=, <=, >, <), metrics from TFMA_METRICS.
        label_key: the label feature in the eval examples.
        compare_metric: checked against the baseline model (None: no baseline check).
        tolerance: how much worse than the baseline the candidate may be on compare_metric.
        signature_name: the serving signature TFMA computes predictions with.

    Raises:
        ValueError: a bad threshold, a metric TFMA_METRICS lacks, or a negative tolerance.
    """
    import tensorflow_model_analysis as tfma

    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    parsed = [t if isinstance(t, Threshold) else Threshold.parse(t) for t in thresholds]
    names = [t.metric for t in parsed]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"a TFMA config takes one threshold per metric; repeated: {repeated}")
    by_metric: dict[str, dict] = {}
    for threshold in parsed:
        _metric_class(threshold.metric, "threshold")
        by_metric[threshold.metric] = {"value_threshold": _value_threshold(tfma, threshold)}
    if compare_metric:
        _metric_class(compare_metric, "compare")
        lower = lower_is_better(compare_metric)
        direction = (
            tfma.MetricDirection.LOWER_IS_BETTER if lower else tfma.MetricDirection.HIGHER_IS_BETTER
        )
        by_metric.setdefault(compare_metric, {})["change_threshold"] = tfma.GenericChangeThreshold(
            direction=direction, absolute={"value": tolerance if lower else -tolerance}
        )
    metrics = [
        tfma.MetricConfig(
            class_name=_metric_class(name, "threshold"),
            config=json.dumps({"name": name}),
            threshold=tfma.MetricThreshold(**parts),
        )
        for name, parts in sorted(by_metric.items())
    ]
    if "example_count" not in by_metric:
        metrics.append(tfma.MetricConfig(class_name="ExampleCount"))
    return tfma.EvalConfig(
        model_specs=[tfma.ModelSpec(signature_name=signature_name, label_key=label_key)],
        slicing_specs=[tfma.SlicingSpec()],
        metrics_specs=[tfma.MetricsSpec(metrics=metrics)],
    )
