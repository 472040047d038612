"""The outer loops: train_and_evaluate (train, evaluate, export in rounds) and continuous evaluation."""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Callable, Sequence

from estimator_core import checkpoints
from estimator_core.exporters import Exporter

log = logging.getLogger("estimator_core")


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """What to train on and until which global step."""

    input_fn: Callable
    max_steps: int | None = None
    hooks: Sequence = ()

    def __post_init__(self):
        if self.max_steps is not None and self.max_steps <= 0:
            raise ValueError(f"TrainSpec.max_steps must be > 0, got {self.max_steps}")


@dataclasses.dataclass(frozen=True)
class EvalSpec:
    """What to evaluate on, how often, and which exporters run after each evaluation.

    Locally, `start_delay_secs` does not apply (training and evaluation share one process);
    `throttle_secs` skips evaluations sooner than that after the previous one (never the final).
    """

    input_fn: Callable
    steps: int | None = 100
    name: str | None = None
    hooks: Sequence = ()
    exporters: Sequence[Exporter] = ()
    start_delay_secs: float = 120
    throttle_secs: float = 600

    def __post_init__(self):
        if self.steps is not None and self.steps <= 0:
            raise ValueError(f"EvalSpec.steps must be > 0 or None, got {self.steps}")
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


def train_and_evaluate(
    estimator, train_spec: TrainSpec, eval_spec: EvalSpec, *, eval_every_steps: int | None = None
) -> tuple[dict, list]:
    """Trains to train_spec.max_steps, evaluating (and exporting) every `eval_every_steps`.

    Without `eval_every_steps`, evaluations follow the checkpoint cadence
    (RunConfig.save_checkpoints_steps), or happen only at the end. A final evaluation always
    runs. Returns (last evaluation result, every export path written).
    """
    if eval_every_steps is not None and eval_every_steps <= 0:
        raise ValueError(f"eval_every_steps must be > 0, got {eval_every_steps}")
    every = eval_every_steps or estimator.config.save_checkpoints_steps
    latest = checkpoints.latest_checkpoint(estimator.model_dir)
    step = checkpoints.global_step_of(latest) if latest else 0
    max_steps = train_spec.max_steps
    last_eval_time = None
    exports: list = []
    result: dict = {}
    while max_steps is None or step < max_steps:
        target = max_steps if not every else step + every
        if max_steps is not None:
            target = min(target, max_steps)
        estimator.train(train_spec.input_fn, hooks=list(train_spec.hooks), max_steps=target)
        new_step = estimator.last_train_result["global_step"]
        ended_early = target is not None and new_step < target  # input ran out
        step = new_step
        final = ended_early or (max_steps is not None and step >= max_steps)
        if final:
            break
        if (
            last_eval_time is not None
            and time.monotonic() - last_eval_time < eval_spec.throttle_secs
        ):
            log.info(
                "evaluation at step %d skipped (throttle_secs=%s)", step, eval_spec.throttle_secs
            )
            continue
        result, new_exports = _evaluate_and_export(estimator, eval_spec, is_final=False)
        exports += new_exports
        last_eval_time = time.monotonic()
    result, new_exports = _evaluate_and_export(estimator, eval_spec, is_final=True)
    return result, exports + new_exports


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
) -> list[dict]:
    """Evaluates each new checkpoint in model_dir as it appears (an evaluator beside a trainer).

    Stops when no new checkpoint appeared for `timeout_secs`, or after evaluating a checkpoint
    at or past `final_step`. Returns the results in order.
    """
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
