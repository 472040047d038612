"""The evaluator's work: metrics, confusion matrix and slices of a checkpoint, then the blessing."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re
import time
from typing import Any

import tensorflow as tf

from components import artifacts, blessing, files, trained_model
from components.blessing import Threshold
from components.default_model import label_vocabulary
from components.evaluator import analysis
from components.evaluator.args import EvaluatorArgs
from components.trained_model import TrainedModel

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

    checkpoint = require_checkpoint(model.checkpoint_dir, checkpoint or model.latest_checkpoint())
    # The estimator's own model_dir is a scratch dir: eval summaries go into the output,
    # and the (possibly read-only) trained model_dir is never written.
    estimator = model.estimator(batch_size=batch_size, work_dir=work_dir)
    input_fn = model.input_fn(examples_dir, split)
    metrics = estimator.evaluate(input_fn, checkpoint_path=checkpoint, name=name)
    return _scalars(metrics), checkpoint, estimator, input_fn


@dataclasses.dataclass(frozen=True)
class _Analysis:
    """The candidate's numbers: metrics, the checkpoint they are of, confusion and slices."""

    metrics: dict[str, float]
    checkpoint: str
    example_count: int
    confusion: dict[str, Any] | None
    slices: dict[str, dict[str, dict[str, float]]]


def run(
    examples_dir: str,
    model_dir: str,
    output_dir: str,
    args: EvaluatorArgs | None = None,
    **fields: Any,
) -> EvaluatorResult:
    """Evaluates `model_dir` and writes metrics, confusion matrix, slices and the blessing.

    Args:
        examples_dir: the prepare output holding Split-<split>/.
        model_dir: a trainer output (trainer.json, schema/stats copies, and the checkpoints
            or the checkpoint_dir trainer.json names).
        output_dir: receives metrics.json, confusion_matrix.json, slice_metrics.json,
            blessing.json, BLESSED or NOT_BLESSED, and tensorboard/ (eval summaries).
        args: the parameters (components.evaluator.args.EvaluatorArgs), or give its fields
            as keywords, e.g. `run(examples, model, out, thresholds=["accuracy>=0.9"])`.

    Returns:
        An EvaluatorResult; every file is written to a temporary name and renamed.
        blessing.json names the model it judged: its model dir, checkpoint and a digest of
        the checkpoint's files, which the exporter checks before pushing.

    Raises:
        ValueError: a bad threshold, tolerance or slice feature; FileNotFoundError for a
            model_dir or baseline without checkpoints.
    """
    args = dataclasses.replace(args, **fields) if args is not None else EvaluatorArgs(**fields)
    started = time.monotonic()
    model, baseline = _load(model_dir, args)
    tensorboard = f"{output_dir}/{TENSORBOARD_DIR}"
    log.info("evaluating %s on %s/%s", args.checkpoint or model_dir, examples_dir, args.split)
    analysed = _analyse(model, examples_dir, tensorboard, args)
    baseline_metrics = None
    if baseline is not None:
        log.info("evaluating the baseline %s on the same data", args.baseline_model_dir)
        baseline_metrics, _, baseline_est, _ = _evaluate(
            baseline, examples_dir, args.split, None, tensorboard, "baseline", args.batch_size
        )
        baseline_est.close()
    thresholds = [Threshold.parse(t) if isinstance(t, str) else t for t in args.thresholds]
    decision = blessing.decide(
        analysed.metrics, thresholds, baseline_metrics, args.compare_metric, args.tolerance
    )
    result = EvaluatorResult(
        output_dir=output_dir,
        blessed=decision.blessed,
        reason=decision.reason,
        metrics=analysed.metrics,
        baseline_metrics=baseline_metrics,
        checkpoint=analysed.checkpoint,
        global_step=int(analysed.metrics.get("global_step", 0)),
        example_count=analysed.example_count,
        checks=decision.checks,
        confusion=analysed.confusion,
        slices=analysed.slices,
    )
    _write(result, decision, model, examples_dir, args)
    log.info(
        "%s (%s) in %.1fs; results in %s",
        "BLESSED" if decision.blessed else "NOT BLESSED",
        decision.reason,
        time.monotonic() - started,
        output_dir,
    )
    return result


def _load(model_dir: str, args: EvaluatorArgs) -> tuple[TrainedModel, TrainedModel | None]:
    """The candidate (with its slice features checked) and the baseline, if any."""
    model = trained_model.load(model_dir, args.module_file)
    schema = model.schema
    unknown = [f for f in args.slice_by if f not in schema.names or f == schema.label]
    if unknown:
        features = [c.name for c in schema.features]
        raise UnknownFeatureError(f"slice_by {unknown}: not features of the schema {features}")
    if not args.baseline_model_dir:
        return model, None
    try:
        return model, trained_model.load(args.baseline_model_dir)
    except FileNotFoundError as e:
        raise FileNotFoundError(f"baseline: {e} (pass no baseline on a first run)") from e


def _analyse(
    model: TrainedModel, examples_dir: str, tensorboard: str, args: EvaluatorArgs
) -> _Analysis:
    metrics, checkpoint, estimator, input_fn = _evaluate(
        model, examples_dir, args.split, args.checkpoint, tensorboard, None, args.batch_size
    )
    try:
        data = analysis.read_eval_data(input_fn, args.batch_size, args.slice_by)
        predictions = analysis.predictions_of(estimator, input_fn, checkpoint)
        class_names = _class_names(model)
        confusion = (
            analysis.classification_report(predictions, data, class_names) if class_names else None
        )
        slices = _slices(estimator, input_fn, checkpoint, data, args.slice_by)
    finally:
        estimator.close()
    return _Analysis(metrics, checkpoint, data.count, confusion, slices)


def _write(
    result: EvaluatorResult,
    decision: blessing.Blessing,
    model: TrainedModel,
    examples_dir: str,
    args: EvaluatorArgs,
) -> None:
    """metrics.json, confusion and slices, then blessing.json and its marker (last)."""
    output_dir = result.output_dir
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    tf.io.gfile.makedirs(output_dir)
    files.write_json_atomic(
        f"{output_dir}/{artifacts.METRICS_FILE}",
        {
            "metrics": result.metrics,
            "loss": result.metrics.get("loss"),
            "global_step": result.global_step,
            "example_count": result.example_count,
            "checkpoint": result.checkpoint,
            "model_dir": files.abspath(model.model_dir),
            "examples_dir": files.abspath(examples_dir),
            "split": args.split,
            "baseline_metrics": result.baseline_metrics,
            "evaluated_at": now,
        },
    )
    if result.confusion is not None:
        files.write_json_atomic(f"{output_dir}/{artifacts.CONFUSION_FILE}", result.confusion)
    if args.slice_by:
        files.write_json_atomic(f"{output_dir}/{artifacts.SLICES_FILE}", result.slices)
    blessing.write(
        output_dir,
        decision,
        {
            "checkpoint": result.checkpoint,
            "global_step": result.global_step,
            "model": blessing.model_identity(model.model_dir, result.checkpoint),
            "baseline_model_dir": args.baseline_model_dir,
            "evaluated_at": now,
        },
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
