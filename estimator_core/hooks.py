"""The engine's own hooks: per-loop reporting (log, summaries, NaN stop) and checkpoint saving."""

from __future__ import annotations

import logging
import math
import time

import tensorflow as tf

log = logging.getLogger("estimator_core")
v1 = tf.compat.v1


class NanLossError(RuntimeError):
    """Training produced a NaN or Inf loss; no checkpoint was written after it."""

    def __init__(self, global_step: int, loss: float):
        self.global_step = global_step
        super().__init__(
            f"loss is {loss} at global step {global_step}: training stopped; the latest "
            "checkpoint in model_dir is the last one with a finite loss"
        )


class LoopReportHook(v1.train.SessionRunHook):
    """After each loop: stop on a non-finite loss, log loss and steps/s, write summaries.

    Must run before the checkpoint hook so a NaN loop raises before anything is saved.
    """

    def __init__(
        self,
        outputs: dict,
        global_step,
        *,
        summary_writer,
        save_summary_steps: int,
        log_step_count_steps: int,
        total_steps: int | None = None,
    ):
        self._outputs = outputs
        self._global_step = global_step
        self._writer = summary_writer
        self._save_summary_steps = save_summary_steps
        self._log_every = log_step_count_steps
        self._total = total_steps
        self._last_log_step = None
        self._last_summary_step = None
        self.last_loss = None
        self.steps_per_sec = None

    def after_create_session(self, session, coord):
        step = int(session.run(self._global_step))
        self._last_log_step = self._last_summary_step = step
        self._last_log_time = self._start_time = time.monotonic()
        self._start_step = step

    def before_run(self, run_context):
        return v1.train.SessionRunArgs(self._outputs)

    def after_run(self, run_context, run_values):
        out = run_values.results
        step, loss = int(out["global_step"]), float(out["loss"])
        if int(out["steps"]) and (not bool(out["finite"]) or not math.isfinite(loss)):
            raise NanLossError(step, loss)
        if not int(out["steps"]):
            return
        self.last_loss = loss
        now = time.monotonic()
        if now > self._start_time:
            self.steps_per_sec = (step - self._start_step) / (now - self._start_time)
        if step - self._last_log_step >= self._log_every:
            rate = (step - self._last_log_step) / max(now - self._last_log_time, 1e-9)
            eta = ""
            if self._total and rate > 0:
                eta = f", ETA {max(self._total - step, 0) / rate:.0f}s"
            log.info("global_step %d: loss = %.6g (%.1f steps/s%s)", step, loss, rate, eta)
            if self._writer is not None:
                self._write_scalar("global_step/sec", rate, step)
            self._last_log_step, self._last_log_time = step, now
        if self._writer is not None and step - self._last_summary_step >= self._save_summary_steps:
            self._write_scalar("loss", loss, step)
            if out["summary"]:
                self._writer.add_summary(out["summary"], step)
            self._last_summary_step = step

    def _write_scalar(self, tag: str, value: float, step: int) -> None:
        self._writer.add_summary(
            v1.Summary(value=[v1.Summary.Value(tag=tag, simple_value=value)]), step
        )

    def end(self, session):
        if self._writer is not None:
            self._writer.flush()


def checkpoint_hook(model_dir: str, config, saver, listeners) -> v1.train.CheckpointSaverHook:
    """TensorFlow's own saver hook, on RunConfig's cadence; it also saves once more at the end."""
    steps, secs = config.checkpoint_every
    return v1.train.CheckpointSaverHook(
        model_dir,
        save_secs=secs,
        save_steps=steps,
        saver=saver,
        checkpoint_basename="model.ckpt",
        listeners=list(listeners or ()),
    )
