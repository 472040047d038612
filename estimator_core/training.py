"""train(): the outer loop — runs in-graph loops until the target step, with hooks and checkpoints."""

from __future__ import annotations

import contextlib
import logging
import time

import tensorflow as tf

from estimator_core import checkpoints, interrupts
from estimator_core.context import EngineContext
from estimator_core.graph_cache import GraphCache, LiveGraph, call_key, in_use, reuse_or_build
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


def _target_step(current: int, steps: int | None, max_steps: int | None) -> int | None:
    if max_steps is not None:
        return max_steps
    if steps is not None:
        return current + steps
    return None


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


def run_train(
    ctx: EngineContext,
    input_fn,
    *,
    hooks,
    steps,
    max_steps,
    saving_listeners,
    cache: GraphCache | None = None,
    save_checkpoints_steps: int | None = None,
) -> dict:
    """train(): one writer per model_dir (the chief holds the lock); SIGTERM stops at a loop end.

    `save_checkpoints_steps`, when given, replaces RunConfig's checkpoint cadence for this call.
    """
    lock = ModelDirLock(ctx.model_dir) if ctx.config.is_chief else contextlib.nullcontext()
    with lock, PreemptionWatcher().installed() as preemption:
        return _train(
            ctx,
            input_fn,
            hooks,
            steps,
            max_steps,
            saving_listeners,
            preemption,
            cache,
            save_checkpoints_steps,
        )


def _build_live(
    ctx: EngineContext, input_fn, hooks, saving_listeners, key, save_checkpoints_steps
) -> LiveGraph:
    latest = checkpoints.latest_checkpoint(ctx.model_dir)
    tg = build_train_graph(ctx, input_fn, warm_start=latest is None, hooks=hooks or ())
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
        all_hooks = [report, *(hooks or ()), *tg.spec_hooks]
        for hook in all_hooks:
            point_at_loop_outputs(hook, tg)
        if config.is_chief:
            cadence = config
            if save_checkpoints_steps is not None:
                cadence = config.replace(
                    save_checkpoints_steps=save_checkpoints_steps, save_checkpoints_secs=None
                )
            all_hooks.append(
                checkpoint_hook(
                    ctx.model_dir,
                    cadence,
                    tg.scaffold.saver,
                    tg.global_step,
                    tg.loop.outputs["global_step"],
                    saving_listeners,
                )
            )
    return open_live(
        key,
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


def _refresh(live: LiveGraph, model_dir: str) -> None:
    """A reused TRAIN graph: if someone else moved model_dir on, its checkpoint wins over the
    live session."""
    latest = checkpoints.latest_checkpoint(model_dir)
    if latest != live.checkpoint:
        restore_into(
            live.session, live.state.scaffold.saver, checkpoints.restore_candidates(model_dir)
        )
        live.checkpoint = latest


def _train(
    ctx: EngineContext,
    input_fn,
    hooks,
    steps,
    max_steps,
    saving_listeners,
    preemption,
    cache,
    save_checkpoints_steps,
) -> dict:
    """Trains until max_steps/steps or end of input; returns {'global_step', 'loss', 'steps_per_sec'}."""
    latest = checkpoints.latest_checkpoint(ctx.model_dir)
    if max_steps is not None and latest is not None:
        step_now = checkpoints.global_step_of(latest)
        if step_now >= max_steps:
            log.info(
                "global_step %d already reached max_steps %d: nothing to train", step_now, max_steps
            )
            return {
                "global_step": step_now,
                "loss": None,
                "steps_per_sec": None,
                "preempted": False,
            }
    key = call_key(input_fn, *(hooks or ()), *(saving_listeners or ()), save_checkpoints_steps)
    live, cached = reuse_or_build(
        cache,
        ModeKeys.TRAIN,
        key,
        build=lambda: _build_live(
            ctx, input_fn, hooks, saving_listeners, key, save_checkpoints_steps
        ),
        refresh=lambda live: _refresh(live, ctx.model_dir),
        # A session on a remote target (TF_CONFIG workers) is not kept between calls.
        share=lambda live: not live.state.replication.session_target,
    )
    tg, session, report, config = live.state, live.session, live.hooks[0], ctx.config
    # On failure the session may be ahead of the last checkpoint: never reuse it.
    with in_use(cache, ModeKeys.TRAIN, live, cached):
        with tg.graph.as_default():
            session.run([s.initializer for s in tg.sources if s.initializer is not None])
            start = int(session.run(tg.global_step))
            target = _target_step(start, steps, max_steps)
            report.total_steps = target
            hooked = HookedSession(session, live.hooks, hook_fetches_after_loop(tg))
            # Tensors (not a Dataset) evaluate once per session.run: one step per in-graph loop.
            per_run_limit = None if all(s.is_dataset for s in tg.sources) or not tg.in_loop else 1
            if per_run_limit == 1:
                log.info("input_fn returned tensors, not a Dataset: running one step per loop")
            sizer = LoopSizer(
                config.tpu_config.iterations_per_loop,
                config.tpu_config.loop_time_budget,
                per_run_limit,
            )
            with interrupts.second_signal_exits(ctx.model_dir):
                _run_loops(hooked, tg, sizer, start, target, config.loop_timeout_secs, preemption)
            hooked.end()
            final = int(session.run(tg.global_step))
        live.checkpoint = checkpoints.latest_checkpoint(ctx.model_dir)
    if preemption.requested:
        log.warning("preempted: stopped at global_step %d with a checkpoint saved", final)
    if report.last_loss is not None:
        log.info("Loss for final step: %s.", report.last_loss)
    return {
        "global_step": final,
        "loss": report.last_loss,
        "steps_per_sec": report.steps_per_sec,
        "preempted": preemption.requested,
    }


class WorkerLostError(RuntimeError):
    """A peer worker died or hung during a collective; every worker must restart."""

    def __init__(self, step: int, cause: Exception):
        text = str(cause).strip()
        first = text.splitlines()[0] if text else type(cause).__name__
        super().__init__(
            f"lost contact with a peer worker after global_step {step} ({type(cause).__name__}: "
            f"{first}); restart all workers: they resume from the last checkpoint in model_dir"
        )


def _run_loops(
    hooked: HookedSession,
    tg: TrainGraph,
    sizer: LoopSizer,
    step: int,
    target,
    timeout_secs: float | None,
    preemption,
) -> None:
    loop = tg.loop
    run_options = None
    if timeout_secs:
        run_options = v1.RunOptions(timeout_in_ms=int(timeout_secs * 1000))
    loop_size = None
    while not (hooked.should_stop or preemption.requested) and (target is None or step < target):
        size = sizer.next_size(None if target is None else target - step)
        if size != loop_size:
            loop.resize(hooked.session, size)
            loop_size = size
        started = time.monotonic()
        try:
            out = loop.run(hooked, options=run_options)
        except (tf.errors.OutOfRangeError, StopIteration):
            # End of input, or a hook or generator input saying "no more": a clean stop.
            log.info("end of input at or after global_step %d: training stops", step)
            return
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
        sizer.observe(new_step - step, time.monotonic() - started)
        step = new_step
