"""The outer loops: train_and_evaluate (one training run, evaluated at its checkpoints) and
continuous evaluation (an evaluator beside a trainer)."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

import tensorflow as tf

from estimator_core import checkpoints
from estimator_core.checks import positive_int
from estimator_core.exporters import Exporter

log = logging.getLogger("estimator_core")
v1 = tf.compat.v1


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """What to train on and until which global step (None: until the input ends)."""

    input_fn: Callable
    max_steps: int | None = None
    hooks: Sequence = ()

    def __post_init__(self):
        max_steps = positive_int("TrainSpec.max_steps", self.max_steps, optional=True)
        object.__setattr__(self, "max_steps", max_steps)  # a NumPy integer made a Python int


@dataclasses.dataclass(frozen=True)
class EvalSpec:
    """What to evaluate on, when, and which exporters run after each evaluation.

    `start_delay_secs`: no evaluation starts sooner than this after training starts
    (train_and_evaluate) or the evaluator starts (evaluate_continuously waits it out before its
    first look at model_dir). `throttle_secs`: an evaluation due sooner than this after the
    previous one started is skipped. Neither ever skips train_and_evaluate's final evaluation.
    """

    input_fn: Callable
    steps: int | None = 100
    name: str | None = None
    hooks: Sequence = ()
    exporters: Sequence[Exporter] = ()
    start_delay_secs: float = 120
    throttle_secs: float = 600

    def __post_init__(self):
        object.__setattr__(self, "steps", positive_int("EvalSpec.steps", self.steps, optional=True))
        if self.start_delay_secs < 0:
            raise ValueError(f"EvalSpec.start_delay_secs must be >= 0, got {self.start_delay_secs}")
        if self.throttle_secs < 0:
            raise ValueError(f"EvalSpec.throttle_secs must be >= 0, got {self.throttle_secs}")
        names = [e.name for e in self.exporters]
        if len(set(names)) != len(names):
            raise ValueError(f"EvalSpec.exporters have duplicate names {names}")


def _evaluate_and_export(estimator, eval_spec: EvalSpec, is_final: bool) -> tuple[dict, list]:
    checkpoint = estimator.latest_checkpoint()
    result = estimator.evaluate(
        eval_spec.input_fn,
        steps=eval_spec.steps,
        hooks=list(eval_spec.hooks),
        checkpoint_path=checkpoint,
        name=eval_spec.name,
    )
    exports = []
    for exporter in eval_spec.exporters:
        base = os.path.join(estimator.model_dir, "export", exporter.name)
        path = exporter.export(estimator, base, checkpoint, result, is_final)
        if path:
            exports.append(path)
    return result, exports


class _SaveListener(v1.train.CheckpointSaverListener):
    """Tells the evaluator which step each checkpoint the training run saves is at."""

    def __init__(self, saved: Callable[[int], None]):
        self._saved = saved

    def after_save(self, session, global_step_value):
        self._saved(int(global_step_value))


class CheckpointEvaluator(v1.train.SessionRunHook):
    """Evaluates (and exports) the checkpoints one training run saves, between its host loops.

    A save (reported through `listener`) makes its checkpoint due when it is at least
    `every_steps` past the last evaluated one; the evaluation runs before the next loop starts,
    unless `throttle_secs` says to skip it. `start_delay_secs` does not apply here, as in the
    original's local train_and_evaluate (it delays a separate evaluator: evaluate_continuously). So the checkpoint saved when
    training ends is never evaluated here: the final evaluation, which always runs, covers it.
    """

    def __init__(self, estimator, eval_spec: EvalSpec, every_steps: int | None, start_step: int):
        self.listener = _SaveListener(self._saved)
        self.result: dict = {}
        self.exports: list = []
        self._estimator = estimator
        self._spec = eval_spec
        self._every = every_steps
        self._evaluated_step = start_step
        self._due: int | None = None
        self._last_evaluation: float | None = None

    def _saved(self, step: int) -> None:
        if step > self._evaluated_step and (
            self._every is None or step >= self._evaluated_step + self._every
        ):
            self._due = step

    def before_run(self, run_context):
        if self._due is not None:
            step, self._due = self._due, None
            self._evaluate(step)
        return None

    def _evaluate(self, step: int) -> None:
        now = time.monotonic()
        spec = self._spec
        if self._last_evaluation is not None and now - self._last_evaluation < spec.throttle_secs:
            log.info("evaluation at step %d skipped (throttle_secs=%s)", step, spec.throttle_secs)
            return
        self._last_evaluation = now
        self.result, exports = _outside_the_training_graph(
            _evaluate_and_export, self._estimator, spec, is_final=False
        )
        self.exports += exports
        self._evaluated_step = step


def _outside_the_training_graph(fn, *args, **kwargs):
    """Calls fn in a thread of its own and returns its result (or raises its exception).

    Hooks run with the training graph as the calling thread's default graph; evaluation and
    export build graphs of their own, which may not nest inside it (Keras' clear_session, run
    for each new graph, refuses nested graphs). A new thread starts with no default graph.
    """
    outcome: dict = {}

    def call():
        try:
            outcome["value"] = fn(*args, **kwargs)
        except BaseException as e:  # re-raised in the caller
            outcome["error"] = e

    thread = threading.Thread(target=call, name="evaluate-during-training")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _checkpoint_steps(config, eval_every_steps: int | None) -> int | None:
    """The checkpoint cadence the training run needs: a checkpoint at least every
    eval_every_steps (more often when RunConfig.save_checkpoints_steps asks for it)."""
    if eval_every_steps is None:
        return None
    return min(config.save_checkpoints_steps or eval_every_steps, eval_every_steps)


def train_and_evaluate(
    estimator, train_spec: TrainSpec, eval_spec: EvalSpec, *, eval_every_steps: int | None = None
) -> tuple[dict, list]:
    """Trains once to train_spec.max_steps (or the end of its input), evaluating on the way.

    Evaluations (each followed by the exporters) run between host loops, on the checkpoint just
    saved: every `eval_every_steps` steps (training then saves a checkpoint at least that
    often), or without it at every checkpoint RunConfig's cadence saves. EvalSpec's
    start_delay_secs and throttle_secs skip some of them; a final evaluation of the last
    checkpoint always runs (unless training was preempted). Training is one `train()` call, so
    its input is read once, from start to end. Only the chief evaluates; other workers train.

    Returns:
        (last evaluation result, every export path written).
    """
    eval_every_steps = positive_int("eval_every_steps", eval_every_steps, optional=True)
    config = estimator.config
    if not config.is_chief:
        log.info("not the chief: training only (the chief evaluates and exports)")
        estimator.train(
            train_spec.input_fn, hooks=list(train_spec.hooks), max_steps=train_spec.max_steps
        )
        return {}, []
    latest = checkpoints.latest_checkpoint(estimator.model_dir)
    start_step = checkpoints.global_step_of(latest) if latest else 0
    evaluator = CheckpointEvaluator(estimator, eval_spec, eval_every_steps, start_step)
    # The estimator's own train() with a per-call checkpoint cadence.
    estimator.train(
        train_spec.input_fn,
        hooks=[evaluator, *train_spec.hooks],
        max_steps=train_spec.max_steps,
        saving_listeners=[evaluator.listener],
        save_checkpoints_steps=_checkpoint_steps(config, eval_every_steps),
    )
    if estimator.last_train_result["preempted"]:
        log.warning("training was preempted: no final evaluation")
        return evaluator.result, evaluator.exports
    result, exports = _evaluate_and_export(estimator, eval_spec, is_final=True)
    return result, evaluator.exports + exports


def evaluate_continuously(
    estimator,
    input_fn,
    *,
    steps=None,
    hooks=None,
    name=None,
    timeout_secs: float = 600,
    final_step: int | None = None,
    poll_secs: float = 1.0,
    start_delay_secs: float = 0,
) -> list[dict]:
    """Evaluates each new checkpoint in model_dir as it appears (an evaluator beside a trainer).

    Waits `start_delay_secs` before its first look (the trainer's first checkpoints are rarely
    worth evaluating). Stops when no new checkpoint appeared for `timeout_secs`, or after
    evaluating a checkpoint at or past `final_step`. Returns the results in order.
    """
    if start_delay_secs > 0:
        log.info("waiting start_delay_secs=%s before the first evaluation", start_delay_secs)
        time.sleep(start_delay_secs)
    results: list[dict] = []
    seen = None
    waited_since = time.monotonic()
    while True:
        latest = checkpoints.latest_checkpoint(estimator.model_dir)
        if latest and latest != seen:
            seen = latest
            result = estimator.evaluate(
                input_fn, steps=steps, hooks=hooks, checkpoint_path=latest, name=name
            )
            results.append(result)
            waited_since = time.monotonic()
            if final_step is not None and result["global_step"] >= final_step:
                return results
            continue
        if time.monotonic() - waited_since > timeout_secs:
            log.info("no new checkpoint for %ss: continuous evaluation stops", timeout_secs)
            return results
        time.sleep(poll_secs)
