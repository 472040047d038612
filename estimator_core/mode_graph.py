"""The build-and-cache skeleton the train, eval and predict builders share.

Each mode builds a fresh graph holding its replication and global step (`mode_graph`), fills
it with its own input, model_fn call and outputs, opens a session on it (`open_live`), and
keeps it in the GraphCache between calls (`graph_cache.reuse_or_build`, `graph_cache.in_use`).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator

import tensorflow as tf

from estimator_core.context import EngineContext, new_graph
from estimator_core.graph_cache import LiveGraph, StateT
from estimator_core.layer_updates import wire_layer_updates
from estimator_core.mode_keys import ModeKeys
from estimator_core.replication import Replication, replication_for_mode
from estimator_core.session import start_session
from estimator_core.spec import hooks_of, scaffold_of, validate_spec

v1 = tf.compat.v1


@dataclasses.dataclass
class ModeGraph:
    """A new graph for one mode: where model_fn runs, the global step, and model_fn bound to it."""

    ctx: EngineContext
    mode: str
    graph: tf.Graph
    replication: Replication
    global_step: tf.Variable

    def call_model_fn(self, features, labels):
        """model_fn's checked spec for this mode (what the replication's step functions call).

        In TRAIN, Keras 3 layer state updates model_fn left unrun join the train_op.
        """
        graph = v1.get_default_graph()
        first_op = len(graph.get_operations())
        spec = validate_spec(self.ctx.call_model_fn(features, labels, self.mode), self.mode)
        if self.mode != ModeKeys.TRAIN:
            return spec
        return wire_layer_updates(spec, graph.get_operations()[first_op:], self.graph)

    def open_restored(
        self,
        key: tuple,
        spec,
        hooks,
        checkpoint: str,
        make_state: Callable[[v1.train.Scaffold], StateT],
    ) -> LiveGraph[StateT]:
        """EVAL and PREDICT: a session holding `checkpoint`, with the caller's hooks then the
        spec's; `make_state(scaffold)` gives the handles the mode's run keeps."""
        with self.graph.as_default():
            scaffold = scaffold_of(spec)
            init_ops = self.replication.init_ops()
        return open_live(
            key,
            graph=self.graph,
            replication=self.replication,
            scaffold=scaffold,
            hooks=[*(hooks or ()), *hooks_of(spec, self.mode)],
            state=make_state(scaffold),
            config=self.ctx.config,
            init_ops=init_ops,
            restore_from=checkpoint,
            checkpoint=checkpoint,
        )


@contextlib.contextmanager
def mode_graph(
    ctx: EngineContext,
    mode: str,
    base_config: v1.ConfigProto | None = None,
    create_global_step: Callable[[], tf.Variable] = v1.train.get_or_create_global_step,
) -> Iterator[ModeGraph]:
    """Opens a new graph (the run's seed) as the default, with the replication that
    `replication_for_mode` picks for `mode` and the global step created in its scope."""
    graph = new_graph(ctx.config.tf_random_seed)
    # RunConfig.device_fn places every op of the graph, as the original's did.
    with graph.as_default(), graph.device(ctx.config.device_fn):
        replication = replication_for_mode(ctx, mode, base_config)
        with replication.scope():
            global_step = create_global_step()
        yield ModeGraph(ctx, mode, graph, replication, global_step)


def open_live(
    key: tuple,
    *,
    graph: tf.Graph,
    replication: Replication,
    scaffold,
    hooks: list,
    state: StateT,
    config,
    init_ops=(),
    restore_from,
    checkpoint: str | None,
    warm_started=None,
) -> LiveGraph[StateT]:
    """Freezes `graph`, opens its session restoring `restore_from`, and wraps both for the cache.

    `checkpoint` is the checkpoint whose values the session will hold (the cache's record).
    """
    session = start_session(
        graph,
        scaffold,
        hooks,
        restore_from,
        replication,
        config,
        init_ops,
        warm_started=warm_started,
    )
    return LiveGraph(key, graph, session, hooks, state, checkpoint=checkpoint)
