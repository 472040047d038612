"""Where model_fn runs: one device, a strategy's replicas, the TF_CONFIG workers or TPU cores,
behind one interface; `replication_for_mode` is the one place that decides which.

The engine's train/eval/predict builders only call `train_step`, `eval_step` and
`predict_step` (see `one_device.OneDevice`); sharding the host batch, running model_fn per
replica, mean-reducing gradients and gathering tensors back to the host live in the modules
of this package, one per kind of replication, with batch splitting and padding in `sharding`.
"""

from __future__ import annotations

from typing import Protocol

import tensorflow as tf

from estimator_core.mode_keys import ModeKeys
from estimator_core.replication.mirrored import Replicated
from estimator_core.replication.multi_worker import multi_worker
from estimator_core.replication.one_device import CallModelFn, OneDevice
from estimator_core.replication.sharding import pad_batch, shard_batch
from estimator_core.replication.tpu_cores import TPUReplicated

v1 = tf.compat.v1

__all__ = [
    "CallModelFn",
    "OneDevice",
    "Replication",
    "Replicated",
    "TPUReplicated",
    "multi_worker",
    "pad_batch",
    "replication_for",
    "replication_for_mode",
    "shard_batch",
]


class Replication(Protocol):
    """Where model_fn runs, as every kind here offers it (OneDevice documents each member)."""

    num_replicas: int
    num_local: int  # replicas this host feeds
    session_target: str

    def session_config(self, config: v1.ConfigProto) -> v1.ConfigProto: ...

    def scope(self): ...

    def loop_building(self): ...

    def init_ops(self) -> list: ...

    def train_step(self, get_next, call: CallModelFn, dep, host_fn=...) -> tuple: ...

    def eval_step(self, features, labels, call: CallModelFn, gather_fn) -> tuple: ...

    def predict_step(self, features, call: CallModelFn) -> tuple: ...


def _rebuild_in_graph(strategy):
    """A strategy like `strategy`, created inside the current graph.

    Strategies built eagerly (as users build them for RunConfig) configure themselves for
    eager execution; the engine's graphs need one created in graph mode over the same devices.
    """
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        return tf.distribute.MirroredStrategy(devices=list(strategy.extended.worker_devices))
    return strategy


def replication_for(strategy, batch_axis, per_host_input: bool, target: str = "") -> Replication:
    """OneDevice when no strategy is configured, else Replicated over a graph-mode copy of it."""
    if strategy is None:
        return OneDevice()
    return Replicated(
        _rebuild_in_graph(strategy),
        batch_axis=batch_axis,
        per_host_input=per_host_input,
        target=target,
    )


def replication_for_mode(ctx, mode: str, base_config: v1.ConfigProto | None = None) -> Replication:
    """Where `mode` runs for this estimator: TPU cores, the TF_CONFIG workers, a strategy's
    replicas, or one device. Call inside the graph being built."""
    # Per-shard input is a training option; eval/predict always split a host batch.
    per_host = ctx.per_host_input if mode == ModeKeys.TRAIN else True
    if ctx.on_tpu(mode):
        return TPUReplicated(
            ctx.num_replicas(mode),
            target=ctx.tpu_target,
            cluster_def=ctx.tpu_cluster_def,
            batch_axis=ctx.batch_axis,
            per_host_input=per_host,
            batch_size=ctx.batch_size(mode),
        )
    if mode == ModeKeys.TRAIN and ctx.multi_worker:
        return multi_worker(ctx.batch_axis, per_host, base_config)
    return replication_for(ctx.strategy(mode), ctx.batch_axis, per_host)
