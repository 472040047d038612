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

# Keys the engine puts into params itself; users may not set them.
RESERVED_PARAMS = ("batch_size", "context", "use_tpu")


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

    def params_for(self, mode: str, for_input: bool = False) -> dict[str, Any]:
        """A copy of params with `batch_size` set for model_fn (per replica) or input_fn."""
        params = dict(self.params)
        size = self.input_batch_size(mode) if for_input else self.per_replica_batch_size(mode)
        if size is not None:
            params["batch_size"] = size
        params["use_tpu"] = self.use_tpu
        if for_input:
            # Which input pipeline this is, so each worker can read its own part of the data.
            workers = self.config.num_worker_replicas if mode == ModeKeys.TRAIN else 1
            params["context"] = tf.distribute.InputContext(
                num_input_pipelines=workers,
                input_pipeline_id=self.config.task_id if workers > 1 else 0,
                num_replicas_in_sync=self.num_replicas(mode),
            )
        return params

    def call_input_fn(self, input_fn: Callable, mode: str):
        return call_input_fn(input_fn, self.params_for(mode, for_input=True), self.config, mode)

    def call_model_fn(self, features, labels, mode: str):
        return call_model_fn(
            self.model_fn, features, labels, mode, self.params_for(mode), self.config
        )


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


MODES = (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT)
