"""train(): the call object and the outer loop, which runs loops until the target step."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable

import tensorflow as tf

from estimator_core import checkpoints, interrupts
from estimator_core.checks import positive_int
from estimator_core.context import EngineContext
from estimator_core.graph_cache import (
    GraphCache,
    LiveGraph,
    call_key,
    in_use,
    restartable,
    reuse_or_build,
)
from estimator_core.hooks import LoopReportHook, checkpoint_hook
from estimator_core.mode_graph import open_live
from estimator_core.mode_keys import ModeKeys
from estimator_core.model_dir_lock import ModelDirLock
from estimator_core.preemption import PreemptionWatcher
from estimator_core.session import HookedSession, restore_into
from estimator_core.train_graph import (
    TrainGraph,
    build_train_graph,
    hook_fetches_after_loop,
    point_at_loop_outputs,
)

log = logging.getLogger("estimator_core")
v1 = tf.compat.v1


@dataclasses.dataclass(frozen=True)
class TrainCall:
    """One train() call: what to read, how far to go, who listens.

    `save_checkpoints_steps`, when given, replaces RunConfig's checkpoint cadence for this call
    (train_and_evaluate's eval_every_steps).
    """

    input_fn: Callable
    hooks: tuple = ()
    steps: int | None = None
    max_steps: int | None = None
    saving_listeners: tuple = ()
    save_checkpoints_steps: int | None = None

    def __post_init__(self):
        if self.steps is not None and self.max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        for name in ("steps", "max_steps", "save_checkpoints_steps"):
            value = positive_int(name, getattr(self, name), optional=True)
            object.__setattr__(self, name, value)
        object.__setattr__(self, "hooks", tuple(self.hooks or ()))
        object.__setattr__(self, "saving_listeners", tuple(self.saving_listeners or ()))

    def target_step(self, current: int) -> int | None:
        if self.max_steps is not None:
            return self.max_steps
        if self.steps is not None:
            return current + self.steps
        return None

    @property
    def key(self) -> tuple:
        """What a reused TRAIN graph must have been built for."""
        return call_key(
            self.input_fn, *self.hooks, *self.saving_listeners, self.save_checkpoints_steps
        )


class LoopSizer:
    """How many steps the next loop runs: fixed, or adapted to a time budget per loop."""

    def __init__(self, iterations_per_loop, budget_secs: float | None, per_run_limit: int | None):
        self._fixed = None if budget_secs is not None else int(iterations_per_loop)
        self._budget = budget_secs
        self._size = 1 if budget_secs is not None else self._fixed
        self._limit = per_run_limit

    def next_size(self, remaining: int | None) -> int:
        size = self._size if self._limit is None else min(self._size, self._limit)
        return size if remaining is None else max(1, min(size, remaining))

    def observe(self, steps: int, seconds: float) -> None:
        if self._budget is None or steps <= 0 or seconds <= 0:
            return
        rate = steps / seconds
        new_size = max(1, int(rate * self._budget))
        # Grow at most 10x per loop so a fast warm-up loop does not overshoot the budget.
        new_size = min(new_size, self._size * 10)
        if new_size != self._size:
            log.info(
                "iterations_per_loop now %d (%.1f steps/s for a %gs budget)",
                new_size,
                rate,
                self._budget,
            )
        self._size = new_size


def run_train(ctx: EngineContext, call: TrainCall, cache: GraphCache | None = None) -> dict:
    """train()'s outer loop: runs loops (in-graph or per step) until the target step, the end of
    input, a hook's stop or a preemption; hooks and checkpoints between loops.

    One writer per model_dir (the chief holds the lock); SIGTERM stops at a loop end, a second
    signal ends a loop stuck in session.run. Returns {'global_step', 'loss', 'steps_per_sec',
    'preempted'}.
    """
    lock = ModelDirLock(ctx.model_dir) if ctx.config.is_chief else contextlib.nullcontext()
    with lock, PreemptionWatcher().installed() as preemption:
        done = _already_done(ctx.model_dir, call)
        if done is not None:
            return done
        live, cached = reuse_or_build(
            cache,
            ModeKeys.TRAIN,
            call.key,
            build=lambda: _build_live(ctx, call),
            refresh=lambda live: _refresh(live, ctx.model_dir),
            # A session on a remote target (TF_CONFIG workers) is not kept between calls, nor
            # one fed by input_fn's tensors: see graph_cache.restartable.
            share=lambda live: (
                not live.state.replication.session_target and restartable(live.state.sources)
            ),
        )
        tg, session, report, config = live.state, live.session, live.hooks[0], ctx.config
        # On failure the session may be ahead of the last checkpoint: never reuse it.
        with in_use(cache, ModeKeys.TRAIN, live, cached), tg.graph.as_default():
            session.run([s.initializer for s in tg.sources if s.initializer is not None])
            step = int(session.run(tg.global_step))
            target = report.total_steps = call.target_step(step)
            hooked = HookedSession(session, live.hooks, hook_fetches_after_loop(tg))
            sizer = _sizer(tg, config)
            options = None
            if config.loop_timeout_secs:
                options = v1.RunOptions(timeout_in_ms=int(config.loop_timeout_secs * 1000))
            loop_size = None
            with interrupts.second_signal_exits(ctx.model_dir):
                while not (hooked.should_stop or preemption.requested) and (
                    target is None or step < target
                ):
                    size = sizer.next_size(None if target is None else target - step)
                    if size != loop_size:
                        tg.loop.resize(session, size)
                        loop_size = size
                    started = time.monotonic()
                    new_step = _one_loop(hooked, tg, step, options)
                    if new_step is None:
                        break
                    sizer.observe(new_step - step, time.monotonic() - started)
                    step = new_step
            hooked.end()
            final = int(session.run(tg.global_step))
        live.checkpoint = checkpoints.latest_checkpoint(ctx.model_dir)
    if preemption.requested:
        log.warning("preempted: stopped at global_step %d with a checkpoint saved", final)
    if report.last_loss is not None:
        # The fetched NumPy scalar, as the original logged it: "3.3724327", not 3.3724327087402344.
        log.info("Loss for final step: %s.", report.last_loss)
    return {
        "global_step": final,
        "loss": None if report.last_loss is None else float(report.last_loss),
        "steps_per_sec": report.steps_per_sec,
        "preempted": preemption.requested,
    }


def _already_done(model_dir: str, call: TrainCall) -> dict | None:
    """The result of a call whose max_steps model_dir's checkpoint already reached, else None."""
    latest = checkpoints.latest_checkpoint(model_dir)
    if call.max_steps is None or latest is None:
        return None
    step_now = checkpoints.global_step_of(latest)
    if step_now < call.max_steps:
        return None
    log.info(
        "global_step %d already reached max_steps %d: nothing to train", step_now, call.max_steps
    )
    return {"global_step": step_now, "loss": None, "steps_per_sec": None, "preempted": False}


def _sizer(tg: TrainGraph, config) -> LoopSizer:
    # Tensors (not a Dataset) evaluate once per session.run: one step per in-graph loop.
    per_run_limit = None if all(s.is_dataset for s in tg.sources) or not tg.in_loop else 1
    if per_run_limit == 1:
        log.info("input_fn returned tensors, not a Dataset: running one step per loop")
    return LoopSizer(
        config.tpu_config.iterations_per_loop, config.tpu_config.loop_time_budget, per_run_limit
    )


def _build_live(ctx: EngineContext, call: TrainCall) -> LiveGraph[TrainGraph]:
    latest = checkpoints.latest_checkpoint(ctx.model_dir)
    tg = build_train_graph(ctx, call.input_fn, warm_start=latest is None, hooks=call.hooks)
    config = ctx.config
    with tg.graph.as_default():
        writer = v1.summary.FileWriterCache.get(ctx.model_dir) if config.is_chief else None
        report = LoopReportHook(
            tg.loop.outputs,
            tg.global_step,
            summary_writer=writer,
            save_summary_steps=config.save_summary_steps,
            log_step_count_steps=config.log_step_count_steps,
            batch_size=ctx.batch_size(ModeKeys.TRAIN),
        )
        all_hooks = [report, *call.hooks, *tg.spec_hooks]
        for hook in all_hooks:
            point_at_loop_outputs(hook, tg)
        if config.is_chief:
            cadence = config
            if call.save_checkpoints_steps is not None:
                cadence = config.replace(
                    save_checkpoints_steps=call.save_checkpoints_steps, save_checkpoints_secs=None
                )
            all_hooks.append(
                checkpoint_hook(
                    ctx.model_dir,
                    cadence,
                    tg.scaffold.saver,
                    tg.global_step,
                    tg.loop.outputs["global_step"],
                    call.saving_listeners,
                )
            )
    return open_live(
        call.key,
        graph=tg.graph,
        replication=tg.replication,
        scaffold=tg.scaffold,
        hooks=all_hooks,
        state=tg,
        config=config,
        init_ops=tg.init_ops,
        restore_from=checkpoints.restore_candidates(ctx.model_dir),
        checkpoint=latest,
        warm_started=tg.warm_started,
    )


def _refresh(live: LiveGraph[TrainGraph], model_dir: str) -> None:
    """A reused TRAIN graph: if someone else moved model_dir on, its checkpoint wins over the
    live session."""
    latest = checkpoints.latest_checkpoint(model_dir)
    if latest != live.checkpoint:
        restore_into(
            live.session, live.state.scaffold.saver, checkpoints.restore_candidates(model_dir)
        )
        live.checkpoint = latest


class WorkerLostError(RuntimeError):
    """A peer worker died or hung during a collective; every worker must restart."""

    def __init__(self, step: int, cause: Exception):
        text = str(cause).strip()
        first = text.splitlines()[0] if text else type(cause).__name__
        super().__init__(
            f"lost contact with a peer worker after global_step {step} ({type(cause).__name__}: "
            f"{first}); restart all workers: they resume from the last checkpoint in model_dir"
        )


def _one_loop(hooked: HookedSession, tg: TrainGraph, step: int, options) -> int | None:
    """Runs one loop; returns the global step it reached, or None at the end of input."""
    try:
        out = tg.loop.run(hooked, options=options)
    except (tf.errors.OutOfRangeError, StopIteration):
        # End of input, or a hook or generator input saying "no more": a clean stop.
        log.info("end of input at or after global_step %d: training stops", step)
        return None
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError) as e:
        if tg.replication.session_target:
            raise WorkerLostError(step, e) from e
        raise
    new_step = int(out["global_step"])
    if new_step - step != int(out["steps"]):
        raise RuntimeError(
            f"train_op ran {int(out['steps'])} steps but global_step moved from {step} to "
            f"{new_step}: the train_op must increment the global step once per step, e.g. "
            "optimizer.minimize(loss, global_step=tf.compat.v1.train.get_global_step())"
        )
    return new_step
