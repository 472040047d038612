"""TPUEstimator: an Estimator whose batches are split over shards and whose training runs in loops.

Also the legacy import path `tpu_estimator.TPUEstimator`, as code written for tf.contrib.tpu
spells it.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from typing import Any

from estimator_core import checkpoints
from estimator_core.checks import positive_int
from estimator_core.config import InputPipelineConfig, RunConfig, TPUConfig
from estimator_core.context import RESERVED_PARAMS, EngineContext
from estimator_core.estimator import Estimator, resolve_model_dir
from estimator_core.mode_keys import ModeKeys
from estimator_core.spec import TPUEstimatorSpec
from estimator_core.user_fns import validate_model_fn

__all__ = ["InputPipelineConfig", "RunConfig", "TPUConfig", "TPUEstimator", "TPUEstimatorSpec"]
log = logging.getLogger("estimator_core")


class TPUEstimator(Estimator):
    """An Estimator for TPU-era model_fns: per-shard batches and an in-graph training loop.

    The global batch sizes given here are split per shard: `input_fn` and `model_fn` read their
    own batch size from `params['batch_size']`. Training runs `iterations_per_loop` steps in one
    `session.run` (an in-graph loop) and returns to the host between loops for hooks,
    checkpoints and summaries. With `use_tpu=False` everything runs on the local CPU/GPU.

    Example:
        def model_fn(features, labels, mode, params):
            logits = tf.keras.layers.Dense(3)(features["x"])
            loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels, logits)
            train_op = tf.compat.v1.train.AdamOptimizer().minimize(
                loss, global_step=tf.compat.v1.train.get_global_step())
            return TPUEstimatorSpec(mode=mode, loss=loss, train_op=train_op)

        est = TPUEstimator(model_fn=model_fn, config=RunConfig(model_dir="/tmp/m"),
                           use_tpu=False, train_batch_size=64)
        est.train(input_fn, max_steps=1000)
    """

    def __init__(
        self,
        model_fn: Callable | None = None,
        model_dir: str | None = None,
        config: RunConfig | None = None,
        params: dict[str, Any] | None = None,
        use_tpu: bool = True,
        train_batch_size: int | None = None,
        eval_batch_size: int | None = None,
        predict_batch_size: int | None = None,
        batch_axis=None,
        warm_start_from=None,
    ):
        if config is None or not isinstance(config, RunConfig):
            raise ValueError(f"config must be an estimator_core.RunConfig, got {config!r}")
        validate_model_fn(model_fn)
        # A deep copy, as the original's: the cached graphs were built from these values, so
        # changing the caller's dict (or a nested value in it) later must not reach them.
        params = copy.deepcopy(dict(params or {}))
        for key in RESERVED_PARAMS:
            if key in params:
                raise ValueError(
                    f"params must not contain the reserved key {key!r}; it is set by TPUEstimator"
                )
        for name, value in (
            ("train_batch_size", train_batch_size),
            ("eval_batch_size", eval_batch_size),
            ("predict_batch_size", predict_batch_size),
        ):
            positive_int(name, value, optional=True)
        num_shards = config.tpu_config.num_shards
        if use_tpu:
            if train_batch_size is None:
                raise ValueError("train_batch_size cannot be None when use_tpu is True")
            for name, value in (
                ("train_batch_size", train_batch_size),
                ("eval_batch_size", eval_batch_size),
                ("predict_batch_size", predict_batch_size),
            ):
                if value is not None and num_shards and value % num_shards:
                    raise ValueError(
                        f"{name} ({value}) must be divisible by tpu_config.num_shards ({num_shards})"
                    )
        elif num_shards and num_shards > 1:
            log.info("use_tpu=False: tpu_config.num_shards=%d is ignored (one device)", num_shards)
        strategies = self._strategies(
            config, use_tpu, train_batch_size, eval_batch_size, predict_batch_size
        )
        model_dir = resolve_model_dir(model_dir, config)
        config = config.replace(model_dir=model_dir)
        ctx = EngineContext(
            model_fn=model_fn,
            model_dir=model_dir,
            config=config,
            params=params,
            use_tpu=bool(use_tpu),
            batch_sizes={
                ModeKeys.TRAIN: train_batch_size,
                ModeKeys.EVAL: eval_batch_size,
                ModeKeys.PREDICT: predict_batch_size,
            },
            strategies=strategies,
            batch_axis=batch_axis,
            warm_start=checkpoints.resolve_warm_start(warm_start_from),
        )
        self._set_context(ctx, config, reuse_graphs=True)

    @staticmethod
    def _strategies(config, use_tpu, train_batch_size, eval_batch_size, predict_batch_size) -> dict:
        """The strategy per mode: training under train_distribute; eval/predict on replicas only
        when their batch size is set (as TPU eval needed eval_batch_size), else on one device."""
        if use_tpu:
            return {}
        train = config.train_distribute
        serve = config.eval_distribute or train
        strategies = {
            ModeKeys.TRAIN: train,
            ModeKeys.EVAL: serve if eval_batch_size is not None else None,
            ModeKeys.PREDICT: serve if predict_batch_size is not None else None,
        }
        for (mode, strategy), (name, size) in zip(
            strategies.items(),
            (
                ("train_batch_size", train_batch_size),
                ("eval_batch_size", eval_batch_size),
                ("predict_batch_size", predict_batch_size),
            ),
        ):
            if strategy is None:
                continue
            replicas = strategy.num_replicas_in_sync
            if size is None:
                raise ValueError(f"{name} must be set to run {mode} on {replicas} replicas")
            if size % replicas:
                raise ValueError(
                    f"{name} ({size}) must be divisible by the number of replicas ({replicas})"
                )
        return {mode: s for mode, s in strategies.items() if s is not None}

    def _context_for(self, mode: str) -> EngineContext:
        """The engine context for a call; when it runs on TPU cores, resolves the TPU first
        (or fails clearly)."""
        if not self._ctx.on_tpu(mode):
            return self._ctx
        from estimator_core import tpu

        resolver, devices = tpu.require_tpu(self.config, mode)
        return tpu.context_on_tpu(self._ctx, resolver, devices)
