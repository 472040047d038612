"""The engine's own hooks: per-loop reporting (log, summaries, NaN stop) and checkpoint saving."""

from __future__ import annotations

import logging
import math
import os
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
        save_summary_steps: int | None,
        log_step_count_steps: int | None,
        total_steps: int | None = None,
        batch_size: int | None = None,
    ):
        self._outputs = outputs
        self._global_step = global_step
        self._writer = summary_writer
        self._save_summary_steps = save_summary_steps
        self._log_every = log_step_count_steps
        self.total_steps = total_steps
        self._batch_size = batch_size
        self._last_log_step = None
        self._last_summary_step = None
        self.last_loss = None  # as fetched: a NumPy scalar of the loss's dtype
        self.steps_per_sec = None

    def after_create_session(self, session, coord):
        step = int(session.run(self._global_step))
        self._last_log_step = self._last_summary_step = step
        self._last_log_time = self._start_time = time.monotonic()
        self._start_step = step
        self._first_loop = True  # logged and summarized whatever the cadence, as the original

    def before_run(self, run_context):
        return v1.train.SessionRunArgs(self._outputs)

    def after_run(self, run_context, run_values):
        out = run_values.results
        step, loss = int(out["global_step"]), float(out["loss"])
        if int(out["steps"]) and (not bool(out["finite"]) or not math.isfinite(loss)):
            raise NanLossError(step, loss)
        if not int(out["steps"]):
            return
        self.last_loss = out["loss"]
        now = time.monotonic()
        if now > self._start_time:
            self.steps_per_sec = (step - self._start_step) / (now - self._start_time)
        first, self._first_loop = self._first_loop, False
        # None turns logging / summaries off, as the original's RunConfig did (no loss logging
        # hook, no step counter, no summary saver).
        if first and self._log_every:
            log.info("loss = %.6g, step = %d", loss, step)
        if self._log_every and step - self._last_log_step >= self._log_every:
            rate = (step - self._last_log_step) / max(now - self._last_log_time, 1e-9)
            eta = ""
            if self.total_steps and rate > 0:
                eta = f", ETA {max(self.total_steps - step, 0) / rate:.0f}s"
            log.info("global_step %d: loss = %.6g (%.1f steps/s%s)", step, loss, rate, eta)
            if self._writer is not None:
                self._write_scalar("global_step/sec", rate, step)
                if self._batch_size:
                    self._write_scalar("examples/sec", rate * self._batch_size, step)
            self._last_log_step, self._last_log_time = step, now
        due = step - self._last_summary_step >= (self._save_summary_steps or 0)
        if self._writer is not None and self._save_summary_steps and (first or due):
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


class CheckpointHook(v1.train.SessionRunHook):
    """Saves model.ckpt-<step> at loop boundaries on RunConfig's cadence, and once at the end.

    Like TensorFlow's CheckpointSaverHook (and calling the same CheckpointSaverListeners), but it
    reads the global step with a plain read: TF's hook reads it through `initialized_value()`,
    which under multi-worker strategies runs a collective only the chief would join.
    """

    def __init__(
        self,
        model_dir: str,
        saver,
        global_step,
        step_after_run,
        *,
        every_steps=None,
        every_secs=None,
        listeners=(),
    ):
        self._path = os.path.join(model_dir, "model.ckpt")
        self._model_dir = model_dir
        self._saver = saver
        self._global_step = global_step
        # Fetched with each run; it must be read after the run's updates (the loop's output).
        self._step_after_run = step_after_run
        self._timer = v1.train.SecondOrStepTimer(every_secs=every_secs, every_steps=every_steps)
        self._listeners = list(listeners)
        self._last_saved = None

    def begin(self):
        for listener in self._listeners:
            listener.begin()

    def after_create_session(self, session, coord):
        step = int(session.run(self._global_step))
        if self._last_saved is None:
            tf.io.write_graph(
                session.graph.as_graph_def(add_shapes=True), self._model_dir, "graph.pbtxt"
            )
        if step != self._last_saved:  # a reused session already saved this step
            self._save(session, step)
        self._timer.update_last_triggered_step(step)

    def before_run(self, run_context):
        return v1.train.SessionRunArgs(self._step_after_run)

    def after_run(self, run_context, run_values):
        step = int(run_values.results)
        if self._timer.should_trigger_for_step(step):
            self._timer.update_last_triggered_step(step)
            if self._save(run_context.session, step):
                run_context.request_stop()

    def end(self, session):
        step = int(session.run(self._global_step))
        if step != self._last_saved:
            self._save(session, step)

    def _save(self, session, step: int) -> bool:
        """Saves; True when a listener asks training to stop."""
        for listener in self._listeners:
            listener.before_save(session, step)
        self._saver.save(session, self._path, global_step=step)
        self._last_saved = step
        log.info("Saved checkpoint %s-%d", self._path, step)
        return any(listener.after_save(session, step) for listener in self._listeners)


def checkpoint_hook(
    model_dir: str, config, saver, global_step, step_after_run, listeners
) -> CheckpointHook:
    """The checkpoint hook on RunConfig's cadence (steps, or seconds: 600 by default)."""
    steps, secs = config.checkpoint_every
    return CheckpointHook(
        model_dir,
        saver,
        global_step,
        step_after_run,
        every_steps=steps,
        every_secs=secs,
        listeners=listeners or (),
    )
