"""predict(): builds the PREDICT graph and yields predictions batch by batch until input ends."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

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

v1 = tf.compat.v1
PREDICT = ModeKeys.PREDICT


def select_predictions(predictions, predict_keys):
    """Filters dict predictions to predict_keys; ValueError when the keys cannot apply."""
    if predict_keys is None:
        return predictions
    if isinstance(predict_keys, str):
        predict_keys = [predict_keys]
    if not isinstance(predictions, dict):
        raise ValueError(
            "predict_keys can only be used when model_fn returns predictions as a dict"
        )
    missing = [k for k in predict_keys if k not in predictions]
    if missing:
        raise ValueError(
            f"predict_keys {missing} are not in predictions (keys: {sorted(predictions)})"
        )
    return {k: predictions[k] for k in predict_keys}


def _batch_length(batch) -> int:
    if not isinstance(batch, dict):
        return np.shape(batch)[0] if np.ndim(batch) else 1
    lengths = {k: (np.shape(v)[0] if np.ndim(v) else None) for k, v in batch.items()}
    distinct = {n for n in lengths.values()}
    if len(distinct) != 1 or None in distinct:
        raise ValueError(
            f"predictions must all have the same batch length to be yielded per example, got {lengths}"
        )
    return distinct.pop()


def unbatch(batch) -> Iterator:
    """Yields one example at a time from a batch of predictions (dict or tensor)."""
    n = _batch_length(batch)
    if not isinstance(batch, dict):
        yield from batch
        return
    for i in range(n):
        yield {k: v[i] for k, v in batch.items()}


@dataclasses.dataclass
class PredictGraph:
    """The handles a prediction keeps: input, the predictions to fetch, the restoring saver."""

    source: InputSource
    predictions: dict | tf.Tensor
    saver: tf.compat.v1.train.Saver


def _build(
    ctx: EngineContext, input_fn, predict_keys, hooks, checkpoint: str | None, key
) -> LiveGraph[PredictGraph]:
    with mode_graph(ctx, PREDICT) as mg:
        source = make_input_source(ctx.call_input_fn(input_fn, PREDICT), PREDICT)
        features, _ = source.get_next()
        spec, predictions = mg.replication.predict_step(features, mg.call_model_fn)
        predictions = select_predictions(predictions, predict_keys)
    return mg.open_restored(
        key,
        spec,
        hooks,
        checkpoint,
        lambda scaffold: PredictGraph(source, predictions, scaffold.saver),
    )


def run_predict(
    ctx: EngineContext,
    input_fn,
    *,
    predict_keys,
    hooks,
    checkpoint: str | None,  # None: initialize the variables instead
    yield_single_examples: bool,
    cache: GraphCache | None = None,
) -> Iterator:
    keys = tuple(predict_keys) if isinstance(predict_keys, (list, tuple)) else predict_keys
    key = call_key(input_fn, keys, *(hooks or ()))
    live, cached = reuse_or_build(
        cache,
        PREDICT,
        key,
        build=lambda: _build(ctx, input_fn, predict_keys, hooks, checkpoint, key),
        refresh=lambda live: restore_into(live.session, live.state.saver, checkpoint),
        # While another predict generator still reads the cached graph, this one stays private.
        share=lambda live: not cache.busy(PREDICT) and restartable([live.state.source]),
    )
    state, session = live.state, live.session
    # A generator closed early (GeneratorExit) keeps its cached graph: only errors evict it.
    with in_use(cache, PREDICT, live, cached, evict_on=Exception, busy=True):
        with live.graph.as_default():
            if state.source.initializer is not None:
                session.run(state.source.initializer)
            hooked = HookedSession(session, live.hooks)
        while not hooked.should_stop:
            try:
                batch = hooked.run(state.predictions)
            except (tf.errors.OutOfRangeError, StopIteration):
                break
            if yield_single_examples:
                yield from unbatch(batch)
            else:
                yield batch
            if not state.source.is_dataset:
                break  # a tensor input_fn gives one batch
        hooked.end()
