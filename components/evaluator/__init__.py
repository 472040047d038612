"""Evaluator: metrics, confusion matrix and slices of a checkpoint on the eval split, then blessing.

Example:
    from components import evaluator
    result = evaluator.run("out/examples", "out/model", "out/eval",
                           thresholds=["accuracy>=0.9"], baseline_model_dir="out/model_prev")
    result.blessed, result.metrics["accuracy"]
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re
import time
from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from components import artifacts, files, trained_model
from components.default_model import label_vocabulary
from components.evaluator import analysis, blessing
from components.evaluator.blessing import Blessing, Threshold
from components.trained_model import TrainedModel
from estimator_core.checks import positive_int

__all__ = ["Blessing", "EvaluatorResult", "Threshold", "UnknownFeatureError", "run"]

log = logging.getLogger("tpuest.evaluator")
TENSORBOARD_DIR = "tensorboard"


class UnknownFeatureError(ValueError):
    """A --slice-by feature the schema does not have."""


@dataclasses.dataclass(frozen=True)
class EvaluatorResult:
    """What `run` wrote into output_dir, and the decision."""

    output_dir: str
    blessed: bool
    reason: str
    metrics: dict[str, float]
    baseline_metrics: dict[str, float] | None
    checkpoint: str
    global_step: int
    example_count: int
    checks: tuple[dict[str, Any], ...]
    confusion: dict[str, Any] | None
    slices: dict[str, dict[str, dict[str, float]]]


def _scalars(metrics: dict) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items()}


def _evaluate(
    model: TrainedModel,
    examples_dir: str,
    split: str,
    checkpoint: str | None,
    work_dir: str,
    name: str | None,
    batch_size: int,
):
    """(metrics, checkpoint, estimator, input_fn) for one model on one split."""
    from estimator_core.checkpoints import require_checkpoint

    checkpoint = require_checkpoint(model.model_dir, checkpoint)
    # The estimator's own model_dir is a scratch dir: eval summaries go into the output,
    # and the (possibly read-only) trained model_dir is never written.
    estimator = model.estimator(batch_size=batch_size, work_dir=work_dir)
    input_fn = model.input_fn(examples_dir, split)
    metrics = estimator.evaluate(input_fn, checkpoint_path=checkpoint, name=name)
    return _scalars(metrics), checkpoint, estimator, input_fn


def run(
    examples_dir: str,
    model_dir: str,
    output_dir: str,
    *,
    checkpoint: str | None = None,
    module_file_path: str | None = None,
    split: str = artifacts.EVAL_SPLIT,
    thresholds: Sequence[str | Threshold] = (),
    baseline_model_dir: str | None = None,
    compare_metric: str = "accuracy",
    tolerance: float = 0.0,
    slice_by: Sequence[str] = (),
    batch_size: int = 64,
) -> EvaluatorResult:
    """Evaluates `model_dir` and writes metrics, confusion matrix, slices and the blessing.

    Args:
        examples_dir: the prepare output holding Split-<split>/.
        model_dir: a trainer output (checkpoints, trainer.json, schema/stats copies).
        output_dir: receives metrics.json, confusion_matrix.json, slice_metrics.json,
            blessing.json, BLESSED or NOT_BLESSED, and tensorboard/ (eval summaries).
        checkpoint: a checkpoint path (default: model_dir's latest).
        module_file_path: overrides the module recorded in trainer.json.
        split: the split to evaluate on.
        thresholds: "metric>=value" rules (ops >=, <=, >, <) that must all hold.
        baseline_model_dir: a model to compare against on the same data.
        compare_metric, tolerance: the candidate may be worse than the baseline on
            `compare_metric` by at most `tolerance` (loss/error metrics: lower is better).
        slice_by: features to compute every metric per value of.
        batch_size: evaluation batch size.

    Returns:
        An EvaluatorResult; every file is written to a temporary name and renamed.

    Raises:
        ValueError: a bad threshold, tolerance or slice feature; FileNotFoundError for a
            model_dir or baseline without checkpoints.
    """
    parsed = [t if isinstance(t, Threshold) else Threshold.parse(t) for t in thresholds]
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    positive_int("batch_size", batch_size)
    started = time.monotonic()
    model = trained_model.load(model_dir, module_file_path)
    unknown = [f for f in slice_by if f not in model.schema.names or f == model.schema.label]
    if unknown:
        features = [c.name for c in model.schema.features]
        raise UnknownFeatureError(f"slice_by {unknown}: not features of the schema {features}")
    baseline = None
    if baseline_model_dir:
        try:
            baseline = trained_model.load(baseline_model_dir)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"baseline: {e} (pass no baseline on a first run)") from e
    tensorboard = f"{output_dir}/{TENSORBOARD_DIR}"

    log.info("evaluating %s on %s/%s", checkpoint or model_dir, examples_dir, split)
    metrics, checkpoint, estimator, input_fn = _evaluate(
        model, examples_dir, split, checkpoint, tensorboard, None, batch_size
    )
    data = analysis.read_eval_data(input_fn, batch_size, slice_by)
    predictions = analysis.predictions_of(estimator, input_fn, checkpoint)
    class_names = _class_names(model)
    confusion = (
        analysis.classification_report(predictions, data, class_names) if class_names else None
    )
    slices = _slices(estimator, input_fn, checkpoint, data, slice_by)
    estimator.close()

    baseline_metrics = None
    if baseline is not None:
        log.info("evaluating the baseline %s on the same data", baseline_model_dir)
        baseline_metrics, _, baseline_est, _ = _evaluate(
            baseline, examples_dir, split, None, tensorboard, "baseline", batch_size
        )
        baseline_est.close()
    decision = blessing.decide(metrics, parsed, baseline_metrics, compare_metric, tolerance)

    global_step = int(metrics.get("global_step", 0))
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    tf.io.gfile.makedirs(output_dir)
    files.write_json_atomic(
        f"{output_dir}/{artifacts.METRICS_FILE}",
        {
            "metrics": metrics,
            "loss": metrics.get("loss"),
            "global_step": global_step,
            "example_count": data.count,
            "checkpoint": checkpoint,
            "model_dir": files.abspath(model_dir),
            "examples_dir": files.abspath(examples_dir),
            "split": split,
            "baseline_metrics": baseline_metrics,
            "evaluated_at": now,
        },
    )
    if confusion is not None:
        files.write_json_atomic(f"{output_dir}/{artifacts.CONFUSION_FILE}", confusion)
    if slice_by:
        files.write_json_atomic(f"{output_dir}/{artifacts.SLICES_FILE}", slices)
    blessing.write(
        output_dir,
        decision,
        {
            "checkpoint": checkpoint,
            "global_step": global_step,
            "baseline_model_dir": baseline_model_dir,
            "evaluated_at": now,
        },
    )
    log.info(
        "%s (%s) in %.1fs; results in %s",
        "BLESSED" if decision.blessed else "NOT BLESSED",
        decision.reason,
        time.monotonic() - started,
        output_dir,
    )
    return EvaluatorResult(
        output_dir=output_dir,
        blessed=decision.blessed,
        reason=decision.reason,
        metrics=metrics,
        baseline_metrics=baseline_metrics,
        checkpoint=checkpoint,
        global_step=global_step,
        example_count=data.count,
        checks=decision.checks,
        confusion=confusion,
        slices=slices,
    )


def _class_names(model: TrainedModel) -> list[str] | None:
    column = model.schema.column(model.schema.label)
    if column.type == "float":
        return None  # a regression label: no classes
    stats = files.read_json(model.params["stats_path"])
    return label_vocabulary(model.schema, stats, model.params)


def _slices(estimator, input_fn, checkpoint, data, slice_by) -> dict:
    """{feature: {value: metrics}} from the model's own metrics on each slice."""
    slices: dict[str, dict[str, dict[str, float]]] = {}
    for feature in slice_by:
        slices[feature] = {}
        for value in analysis.slice_values(data.columns[feature], feature):
            key = analysis.slice_key(value)
            metrics = estimator.evaluate(
                analysis.sliced_input_fn(input_fn, feature, value),
                checkpoint_path=checkpoint,
                name=re.sub(r"[^A-Za-z0-9_.=-]", "_", f"{feature}={key}"),
            )
            column = data.columns[feature]
            count = _count(column, value)
            slices[feature][key] = {**_scalars(metrics), "example_count": count}
            log.info("slice %s=%s: %d examples, %s", feature, key, count, _brief(metrics))
    return slices


def _count(column, value) -> int:
    import numpy as np

    if column.dtype.kind in "SUO":
        decoded = np.array([v.decode() if isinstance(v, bytes) else v for v in column])
        return int((decoded == ("" if value is None else value)).sum())
    if value is None:
        return int(np.isnan(column.astype(float)).sum())
    return int((column == value).sum())


def _brief(metrics: dict) -> str:
    keys = [k for k in ("accuracy", "loss") if k in metrics]
    return ", ".join(f"{k} = {float(metrics[k]):.4f}" for k in keys)
