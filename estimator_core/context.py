"""The engine's derived, immutable view of one estimator: batch sizes per mode, replicas, params."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from estimator_core.config import RunConfig, WarmStartSettings
from estimator_core.mode_keys import ModeKeys
from estimator_core.user_fns import call_input_fn, call_model_fn

# Keys the engine puts into params itself; users may not set them (as in the original,
# `use_tpu` is not reserved: a user's value is overwritten with where the call runs).
RESERVED_PARAMS = ("batch_size", "context")


@dataclasses.dataclass(frozen=True)
class EngineContext:
    """Everything a graph builder needs to know about the estimator, resolved once."""

    model_fn: Callable
    model_dir: str
    config: RunConfig
    params: dict[str, Any]
    use_tpu: bool
    batch_sizes: dict[str, int | None]
    strategies: dict[str, Any] = dataclasses.field(default_factory=dict)
    batch_axis: Any = None
    warm_start: WarmStartSettings | None = None
    tpu_target: str = ""  # the resolved TPU master, set when a call needs the TPU
    tpu_cluster_def: Any = None
    # False: training builds model_fn at the top level, one session.run per step (Estimator).
    in_graph_loop: bool = True
    # False: params reach model_fn and input_fn as given (Estimator); True: with batch_size,
    # use_tpu and context set by the engine (TPUEstimator).
    tpu_params: bool = True

    def batch_size(self, mode: str) -> int | None:
        """The global batch size for `mode` (None when not set)."""
        return self.batch_sizes.get(mode)

    def strategy(self, mode: str):
        """The tf.distribute strategy `mode` runs under, or None for one device."""
        return self.strategies.get(mode)

    @property
    def multi_worker(self) -> bool:
        """Training spans the workers of TF_CONFIG (collective all-reduce between processes)."""
        return (
            not self.use_tpu
            and self.strategy(ModeKeys.TRAIN) is None
            and self.config.num_worker_replicas > 1
        )

    def on_tpu(self, mode: str) -> bool:
        """Training runs on the TPU cores; evaluation and prediction too when their batch size
        is set, else on the host CPU (as in the original TPUEstimator)."""
        return self.use_tpu and (mode == ModeKeys.TRAIN or self.batch_size(mode) is not None)

    def num_replicas(self, mode: str) -> int:
        if self.use_tpu:
            return (self.config.tpu_config.num_shards or 1) if self.on_tpu(mode) else 1
        if mode == ModeKeys.TRAIN and self.multi_worker:
            return self.config.num_worker_replicas
        strategy = self.strategy(mode)
        return 1 if strategy is None else strategy.num_replicas_in_sync

    @property
    def per_host_input(self) -> bool:
        return self.config.tpu_config.per_host_input

    def per_replica_batch_size(self, mode: str) -> int | None:
        size = self.batch_size(mode)
        return None if size is None else size // self.num_replicas(mode)

    def input_batch_size(self, mode: str) -> int | None:
        """What input_fn is asked for: per host (global / workers) or per shard."""
        size = self.batch_size(mode)
        if size is None:
            return None
        if mode == ModeKeys.TRAIN and not self.per_host_input:
            return self.per_replica_batch_size(mode)
        return size // self.config.num_worker_replicas if mode == ModeKeys.TRAIN else size

    def params_for(
        self, mode: str, for_input: bool = False, invocation: int = 0, exporting: bool = False
    ) -> dict[str, Any]:
        """A copy of params for model_fn or input_fn (`invocation`: which input_fn call).

        `batch_size` is the per-replica batch for model_fn and what input_fn is asked for;
        `use_tpu` says whether this call runs on TPU cores (never for an export, which runs on
        the host); `context` (a TPUContext) is set for input_fn, and for model_fn on TPU, as
        the original did.
        """
        params = dict(self.params)
        if not self.tpu_params:
            return params
        size = self.input_batch_size(mode) if for_input else self.per_replica_batch_size(mode)
        if size is not None:
            params["batch_size"] = size
        on_tpu = self.on_tpu(mode) and not exporting
        params["use_tpu"] = on_tpu
        if for_input or on_tpu:
            params["context"] = self.user_context(mode, size, for_input, invocation)
        return params

    def user_context(self, mode: str, batch_size, for_input: bool, invocation: int = 0):
        """The TPUContext handed to user code: which input pipeline this is, so each worker
        (or shard) can read its own part of the data."""
        from estimator_core.tpu_context import TPUContext

        workers = self.config.num_worker_replicas if mode == ModeKeys.TRAIN else 1
        host = self.config.task_id if workers > 1 else 0
        per_shard = mode == ModeKeys.TRAIN and not self.per_host_input
        replicas = self.num_replicas(mode)
        return TPUContext(
            mode=mode,
            use_tpu=self.on_tpu(mode),
            num_replicas=replicas,
            num_hosts=workers,
            host_id=host,
            global_batch_size=self.batch_size(mode),
            batch_size=batch_size,
            invocation_index=host * (replicas // workers) + invocation if per_shard else host,
            num_invocations=replicas if per_shard else workers,
            call_from_input_fn=for_input,
        )

    def call_input_fn(self, input_fn: Callable, mode: str, invocation: int = 0):
        params = self.params_for(mode, for_input=True, invocation=invocation)
        # An input_fn naming `input_context` gets this pipeline's place (a TPUContext is one).
        input_context = params.get("context") or tf.distribute.InputContext()
        return call_input_fn(input_fn, params, self.config, mode, input_context)

    def call_model_fn(self, features, labels, mode: str, exporting: bool = False):
        params = self.params_for(mode, exporting=exporting)
        return call_model_fn(self.model_fn, features, labels, mode, params, self.config)


def new_graph(seed: int | None) -> tf.Graph:
    """A fresh graph with the run's seed; Keras layer names restart so variables keep their names."""
    if "keras" in sys.modules and os.environ.get("TF_USE_LEGACY_KERAS") != "1":
        import keras

        keras.utils.clear_session(free_memory=False)
    graph = tf.Graph()
    if seed is not None:
        with graph.as_default():
            tf.compat.v1.set_random_seed(seed)
    return graph
