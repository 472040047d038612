"""evaluate(): builds the EVAL graph, runs metric updates batch by batch, returns final values."""

from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np
import tensorflow as tf

from estimator_core.context import EngineContext
from estimator_core.graph_cache import (
    GraphCache,
    LiveGraph,
    call_key,
    in_use,
    restartable,
    reuse_or_build,
)
from estimator_core.inputs import InputSource, make_input_source
from estimator_core.mode_graph import mode_graph
from estimator_core.mode_keys import ModeKeys
from estimator_core.session import HookedSession, restore_into
from estimator_core.spec import TPUEstimatorSpec

log = logging.getLogger("estimator_core")
v1 = tf.compat.v1
EVAL = ModeKeys.EVAL


def call_metric_fn(eval_metrics) -> dict:
    """Runs TPUEstimatorSpec.eval_metrics' metric_fn on its tensors (list: positional, dict: keyword)."""
    metric_fn, tensors = eval_metrics
    result = metric_fn(**tensors) if isinstance(tensors, dict) else metric_fn(*tensors)
    if not isinstance(result, dict):
        raise TypeError(
            f"metric_fn must return a dict of name -> (value, update_op), got {type(result).__name__}"
        )
    return result


def _metric_tensors(spec):
    """The tensors metric_fn needs, as gathered from each replica ({} when none)."""
    if isinstance(spec, TPUEstimatorSpec) and spec.eval_metrics:
        return spec.eval_metrics[1]
    return {}


def metric_ops_of(spec, gathered, replicated: bool = False) -> dict:
    """The spec's metrics as {name: (value, update_op)}, checked."""
    if isinstance(spec, TPUEstimatorSpec):
        metrics = call_metric_fn((spec.eval_metrics[0], gathered)) if spec.eval_metrics else {}
    else:
        if replicated and spec.eval_metric_ops:
            raise ValueError(
                "evaluation on replicas needs TPUEstimatorSpec.eval_metrics=(metric_fn, tensors) "
                "so metrics can be computed once on the gathered tensors; eval_metric_ops are "
                "per-replica ops"
            )
        metrics = dict(spec.eval_metric_ops)
    for name, pair in metrics.items():
        if name == "global_step":
            raise ValueError("metric name 'global_step' is reserved for the evaluated step")
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"metric {name!r} must be a (value, update_op) pair, got {pair!r}")
    return metrics


def eval_dir(model_dir: str, name: str | None) -> str:
    return os.path.join(model_dir, "eval" if not name else f"eval_{name}")


@dataclasses.dataclass
class EvalGraph:
    """The handles an evaluation keeps: input, metric updates and values, and their reset."""

    source: InputSource
    updates: tf.Operation
    values: dict
    reset_metrics: tf.Operation
    saver: tf.compat.v1.train.Saver


def _build(ctx: EngineContext, input_fn, hooks, checkpoint: str, key) -> LiveGraph[EvalGraph]:
    with mode_graph(ctx, EVAL) as mg:
        source = make_input_source(ctx.call_input_fn(input_fn, EVAL), EVAL)
        features, labels = source.get_next()
        spec, loss_sum, count, gathered = mg.replication.eval_step(
            features, labels, mg.call_model_fn, _metric_tensors
        )
        # metric_fn runs once on the host, on the tensors gathered from every replica.
        metrics = metric_ops_of(spec, gathered, replicated=mg.replication.num_replicas > 1)
        if "loss" not in metrics:
            # The mean of the batches' losses, a partial last batch counting as one batch, as the
            # original's; within a batch, replicas count by their real (unpadded) rows.
            metrics["loss"] = v1.metrics.mean(loss_sum / tf.maximum(count, 1.0))
        values = {k: v[0] for k, v in metrics.items()}
        values["global_step"] = mg.global_step.read_value()
        updates = tf.group(*[v[1] for v in metrics.values()])
        reset_metrics = v1.variables_initializer(v1.local_variables())
    return mg.open_restored(
        key,
        spec,
        hooks,
        checkpoint,
        lambda scaffold: EvalGraph(source, updates, values, reset_metrics, scaffold.saver),
    )


def _refresh(live: LiveGraph[EvalGraph], checkpoint: str) -> None:
    """A reused EVAL graph: `checkpoint`'s values in, metric accumulators back to zero."""
    restore_into(live.session, live.state.saver, checkpoint)
    live.session.run(live.state.reset_metrics)


def run_evaluate(
    ctx: EngineContext,
    input_fn,
    *,
    steps,
    hooks,
    checkpoint: str,
    name,
    cache: GraphCache | None = None,
) -> dict:
    """Evaluates `checkpoint` on `steps` batches (or all input); every example weighs the same."""
    key = call_key(input_fn, *(hooks or ()))
    live, cached = reuse_or_build(
        cache,
        EVAL,
        key,
        build=lambda: _build(ctx, input_fn, hooks, checkpoint, key),
        refresh=lambda live: _refresh(live, checkpoint),
        share=lambda live: restartable([live.state.source]),
    )
    state, session = live.state, live.session
    with in_use(cache, EVAL, live, cached), live.graph.as_default():
        if state.source.initializer is not None:
            session.run(state.source.initializer)
        hooked = HookedSession(session, live.hooks)
        batches = 0
        while (steps is None or batches < steps) and not hooked.should_stop:
            try:
                hooked.run(state.updates)
            except (tf.errors.OutOfRangeError, StopIteration):
                break
            batches += 1
            if not state.source.is_dataset and steps is None:
                break  # tensors never run out; one batch is all a tensor input_fn gives
        result = session.run(state.values)
        hooked.end()
    # As the original: metrics (loss among them) sorted by name, then global_step.
    order = sorted(k for k in result if k != "global_step") + ["global_step"]
    result = {k: _as_original(result[k]) for k in order if k in result}
    log.info(
        "Evaluation of %s (%d batches): %s",
        os.path.basename(checkpoint),
        batches,
        ", ".join(
            f"{k} = {v:.6g}" if isinstance(v, np.floating) else f"{k} = {v}"
            for k, v in sorted(result.items())
            if np.ndim(v) == 0
        ),
    )
    _write_eval_summaries(eval_dir(ctx.model_dir, name), result, checkpoint)
    return result


def _as_original(value):
    """NumPy values as the original returned them: a float32 metric is `np.float32`, whose
    str() scripts write to their results files ("0.7", not "0.699999988079071")."""
    array = np.asarray(value)
    return array[()] if array.ndim == 0 else array


def _write_eval_summaries(directory: str, result: dict, checkpoint: str) -> None:
    scalars = [
        v1.Summary.Value(tag=key, simple_value=float(value))
        for key, value in sorted(result.items())
        if key != "global_step" and isinstance(value, (int, float, np.number))
    ]
    # As the original: which checkpoint these numbers belong to, as a string tensor.
    path = tf.make_tensor_proto(checkpoint, dtype=tf.string)
    scalars.append(v1.Summary.Value(tag="checkpoint_path", tensor=path))
    # One cached writer per directory: opening and closing an event file per call cost more
    # than a small evaluation itself.
    with tf.Graph().as_default():
        writer = v1.summary.FileWriterCache.get(directory)
    writer.add_summary(v1.Summary(value=scalars), int(result["global_step"]))
    writer.flush()
