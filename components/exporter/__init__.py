"""Exporter: push a blessed checkpoint as a SavedModel into EXPORT_BASE/<version>/ (or not, saying why).

Example:
    from components import exporter
    result = exporter.run("out/model", "out/serving", evaluation_dir="out/eval")
    result.pushed, result.export_path
"""

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
from components.evaluator import blessing as blessing_lib
from components.exporter.serving import default_serving_input_receiver_fn, receiver_fn_for

__all__ = ["ExporterResult", "default_serving_input_receiver_fn", "run", "write_record"]

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


def _checkpoint_to_export(model_dir: str, evaluation_dir: str | None, given: str | None) -> str:
    """The given checkpoint, else the one the evaluation blessed, else the latest."""
    if given:
        return given
    if evaluation_dir:
        record = f"{evaluation_dir}/{artifacts.BLESSING_FILE}"
        if tf.io.gfile.exists(record):
            evaluated = files.read_json(record).get("checkpoint")
            if evaluated:
                # By name inside model_dir: the recorded absolute path may be another machine's.
                local = f"{model_dir}/{os.path.basename(evaluated)}"
                if not tf.io.gfile.glob(local + ".index"):
                    raise FileNotFoundError(
                        f"the evaluated checkpoint {os.path.basename(evaluated)} is no longer in "
                        f"{model_dir} (kept checkpoints rotated?): evaluate again"
                    )
                return local
    latest = tf.train.latest_checkpoint(model_dir)
    if latest is None:
        raise FileNotFoundError(f"no checkpoint in model_dir {model_dir}: train it first")
    return latest


def _evaluation_metrics(evaluation_dir: str | None) -> dict[str, Any] | None:
    path = f"{evaluation_dir}/{artifacts.METRICS_FILE}" if evaluation_dir else None
    if path and tf.io.gfile.exists(path):
        return files.read_json(path).get("metrics")
    return None


def run(
    model_dir: str,
    export_base: str,
    *,
    evaluation_dir: str | None = None,
    force: bool = False,
    checkpoint: str | None = None,
    module_file_path: str | None = None,
) -> ExporterResult:
    """Exports model_dir's checkpoint as a SavedModel when the evaluation blessed it.

    Args:
        model_dir: a trainer output.
        export_base: SavedModels go to export_base/<version>/ (a Unix time, written to a
            temporary name and renamed); export_base/push.json records the last decision.
        evaluation_dir: an evaluator output (or blessing artifact) holding BLESSED or
            NOT_BLESSED; required unless `force`.
        force: export even without a blessing (recorded as forced in push.json).
        checkpoint: the checkpoint to export (default: the evaluated one, else the latest).
        module_file_path: overrides the module recorded in trainer.json; its
            serving_input_receiver_fn (if any) replaces the default tf.Example signatures.

    Returns:
        An ExporterResult; not blessed means pushed=False and nothing exported.

    Raises:
        ValueError: neither evaluation_dir nor force.
        FileNotFoundError: no marker in evaluation_dir, or no checkpoint.
    """
    if not evaluation_dir and not force:
        raise ValueError("give the evaluation dir to check the blessing, or force the export")
    blessed, why = blessing_lib.read(evaluation_dir) if evaluation_dir else (False, "")
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    metrics = _evaluation_metrics(evaluation_dir)
    if not blessed and not force:
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

    model = trained_model.load(model_dir, module_file_path)
    checkpoint = _checkpoint_to_export(model_dir, evaluation_dir, checkpoint)
    from estimator_core.checkpoints import global_step_of

    global_step = global_step_of(checkpoint)
    receiver_fn = receiver_fn_for(model)
    reason = "blessed" if blessed else f"forced (the evaluation did not bless it: {why or 'n/a'})"
    with tempfile.TemporaryDirectory(prefix="tpuest_export_") as scratch:
        record = {
            "checkpoint": checkpoint,
            "global_step": global_step,
            "metrics": metrics,
            "forced": force and not blessed,
            "reason": reason,
            "pushed_at": now,
            "model_dir": files.abspath(model_dir),
        }
        push_file = os.path.join(scratch, artifacts.PUSH_FILE)
        with open(push_file, "w") as f:
            json.dump(record, f, indent=2, sort_keys=True, default=str)
        estimator = model.estimator(work_dir=os.path.join(scratch, "model"))
        export_path = estimator.export_saved_model(
            export_base,
            receiver_fn,
            assets_extra={artifacts.PUSH_FILE: push_file},
            checkpoint_path=checkpoint,
        )
        estimator.close()
    if isinstance(export_path, bytes):
        export_path = export_path.decode()
    result = ExporterResult(
        pushed=True,
        reason=reason,
        export_path=export_path,
        export_base=export_base,
        checkpoint=checkpoint,
        global_step=global_step,
        forced=force and not blessed,
        metrics=metrics,
        pushed_at=now,
    )
    write_record(export_base, result)
    log.info("pushed %s (global_step %d, %s) to %s", checkpoint, global_step, reason, export_path)
    return result


def write_record(export_base: str, result: ExporterResult) -> None:
    """Writes the decision to export_base/push.json (atomically)."""
    tf.io.gfile.makedirs(export_base)
    files.write_json_atomic(f"{export_base}/{artifacts.PUSH_FILE}", result.to_dict())
