"""The exporter's work: push the blessed checkpoint as a SavedModel, or say why not."""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import tempfile
from typing import Any

import tensorflow as tf

from components import artifacts, files, trained_model
from components import blessing as blessing_lib
from components.exporter.args import ExporterArgs
from components.serving import receiver_fn_for
from components.trained_model import TrainedModel

log = logging.getLogger("tpuest.exporter")


@dataclasses.dataclass(frozen=True)
class ExporterResult:
    """Whether a SavedModel was pushed, where, and why; also written to EXPORT_BASE/push.json."""

    pushed: bool
    reason: str
    export_path: str | None
    export_base: str
    checkpoint: str | None
    global_step: int | None
    forced: bool
    metrics: dict[str, Any] | None
    pushed_at: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _checkpoint_to_export(
    model: TrainedModel, evaluation_dir: str | None, given: str | None
) -> str:
    """The given checkpoint, else the one of that name the evaluation judged, else the latest.

    The evaluated checkpoint is looked up by name among the model's own checkpoints (the
    recorded absolute path may be another machine's); its weights are checked separately.
    """
    if given:
        return given
    blessed = blessing_lib.blessed_model(evaluation_dir) if evaluation_dir else None
    if blessed:
        name = os.path.basename(blessed["checkpoint"])
        local = f"{model.checkpoint_dir}/{name}"
        if not tf.io.gfile.exists(local + ".index"):
            raise FileNotFoundError(
                f"the evaluated checkpoint {name} is no longer in {model.checkpoint_dir} "
                "(kept checkpoints rotated?): evaluate again"
            )
        return local
    return model.latest_checkpoint()


def _evaluation_metrics(evaluation_dir: str | None) -> dict[str, Any] | None:
    path = f"{evaluation_dir}/{artifacts.METRICS_FILE}" if evaluation_dir else None
    if path and tf.io.gfile.exists(path):
        return files.read_json(path).get("metrics")
    return None


def run(
    model_dir: str,
    export_base: str,
    args: ExporterArgs | None = None,
    *,
    evaluation_dir: str | None = None,
    **fields: Any,
) -> ExporterResult:
    """Exports model_dir's checkpoint as a SavedModel when the evaluation blessed it.

    Args:
        model_dir: a trainer output (its checkpoints are read from the checkpoint_dir its
            trainer.json names, else from model_dir).
        export_base: SavedModels go to export_base/<version>/ (a Unix time, written to a
            temporary name and renamed); export_base/push.json records the last decision.
        args: the parameters (components.exporter.args.ExporterArgs), or give its fields
            as keywords, e.g. `run(model, base, evaluation_dir=ev, force=True)`.
        evaluation_dir: an evaluator output (or blessing artifact) holding BLESSED or
            NOT_BLESSED; required unless `force`.

    Returns:
        An ExporterResult; not blessed means pushed=False and nothing exported.

    Raises:
        ValueError: neither evaluation_dir nor force.
        FileNotFoundError: no marker in evaluation_dir, or no checkpoint.
        blessing.BlessingMismatchError: the blessing is for other weights (it names them).
    """
    args = dataclasses.replace(args, **fields) if args is not None else ExporterArgs(**fields)
    if not evaluation_dir and not args.force:
        raise ValueError("give the evaluation dir to check the blessing, or force the export")
    blessed, why = blessing_lib.read(evaluation_dir) if evaluation_dir else (False, "")
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    metrics = _evaluation_metrics(evaluation_dir)
    if not blessed and not args.force:
        result = ExporterResult(
            pushed=False,
            reason=f"not blessed: {why}" if why else "not blessed",
            export_path=None,
            export_base=export_base,
            checkpoint=None,
            global_step=None,
            forced=False,
            metrics=metrics,
            pushed_at=now,
        )
        write_record(export_base, result)
        log.info("not pushing %s: %s", model_dir, result.reason)
        return result

    model = trained_model.load(model_dir, args.module_file)
    checkpoint = _checkpoint_to_export(model, evaluation_dir, args.checkpoint)
    if blessed:
        try:
            blessing_lib.check_blessed(evaluation_dir, checkpoint)
        except blessing_lib.BlessingMismatchError as e:
            if not args.force:
                raise
            blessed, why = False, str(e)
    from estimator_core.checkpoints import global_step_of

    global_step = global_step_of(checkpoint)
    forced = args.force and not blessed
    reason = "blessed" if blessed else f"forced (the evaluation did not bless it: {why or 'n/a'})"
    export_path = _export(model, checkpoint, export_base, {
        "checkpoint": checkpoint,
        "global_step": global_step,
        "metrics": metrics,
        "forced": forced,
        "reason": reason,
        "pushed_at": now,
        "model_dir": files.abspath(model_dir),
    })  # fmt: skip
    result = ExporterResult(
        pushed=True,
        reason=reason,
        export_path=export_path,
        export_base=export_base,
        checkpoint=checkpoint,
        global_step=global_step,
        forced=forced,
        metrics=metrics,
        pushed_at=now,
    )
    write_record(export_base, result)
    log.info("pushed %s (global_step %d, %s) to %s", checkpoint, global_step, reason, export_path)
    return result


def _export(model: TrainedModel, checkpoint: str, export_base: str, record: dict) -> str:
    """export_saved_model of `checkpoint` with `record` as assets.extra/push.json; its path."""
    with tempfile.TemporaryDirectory(prefix="tpuest_export_") as scratch:
        push_file = os.path.join(scratch, artifacts.PUSH_FILE)
        with open(push_file, "w") as f:
            json.dump(record, f, indent=2, sort_keys=True, default=str)
        estimator = model.estimator(work_dir=os.path.join(scratch, "model"))
        try:
            export_path = estimator.export_saved_model(
                export_base,
                receiver_fn_for(model),
                assets_extra={artifacts.PUSH_FILE: push_file},
                checkpoint_path=checkpoint,
            )
        finally:
            estimator.close()
    return export_path.decode() if isinstance(export_path, bytes) else export_path


def write_record(export_base: str, result: ExporterResult) -> None:
    """Writes the decision to export_base/push.json (atomically)."""
    tf.io.gfile.makedirs(export_base)
    files.write_json_atomic(f"{export_base}/{artifacts.PUSH_FILE}", result.to_dict())
