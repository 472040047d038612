"""TPUEstimator: the facade that validates arguments and hands each mode to its builder."""

from __future__ import annotations

import copy
import logging
import numbers
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from estimator_core import checkpoints, evaluation, prediction, training
from estimator_core import export as export_lib
from estimator_core.checks import positive_int
from estimator_core.config import RunConfig
from estimator_core.context import RESERVED_PARAMS, EngineContext
from estimator_core.graph_cache import GraphCache
from estimator_core.mode_keys import ModeKeys
from estimator_core.user_fns import validate_model_fn

log = logging.getLogger("estimator_core")


def _steps(name: str, value) -> int | None:
    """`value` as a Python int (NumPy integers too, as the original took them), or None."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if value <= 0:
        raise ValueError(f"Must specify {name} > 0, given: {value}")
    return int(value)


class TPUEstimator:
    """Trains, evaluates, predicts with and exports a model given by `model_fn`.

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
        model_dir = self._resolve_model_dir(model_dir, config)
        config = config.replace(model_dir=model_dir)
        self._ctx = EngineContext(
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
        self._graphs = GraphCache()

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

    @staticmethod
    def _resolve_model_dir(model_dir: str | None, config: RunConfig) -> str:
        both = model_dir is not None and config.model_dir is not None
        if both and os.path.normpath(model_dir) != os.path.normpath(config.model_dir):
            raise ValueError(
                f"model_dir ({model_dir}) and config.model_dir ({config.model_dir}) differ; "
                "set one, or set both to the same directory"
            )
        model_dir = model_dir or config.model_dir
        if model_dir is None:
            model_dir = tempfile.mkdtemp(prefix="tpuest_model_")
            log.info("model_dir not set: using temporary directory %s", model_dir)
        return os.fspath(model_dir)

    # Properties, as the original.
    @property
    def config(self) -> RunConfig:
        return self._ctx.config

    @property
    def model_dir(self) -> str:
        return self._ctx.model_dir

    @property
    def params(self) -> dict[str, Any]:
        return copy.deepcopy(self._ctx.params)

    @property
    def model_fn(self) -> Callable:
        """model_fn bound to params: `fn(features, labels, mode, config)`."""
        ctx = self._ctx

        def bound_model_fn(features, labels, mode, config):
            from estimator_core.user_fns import call_model_fn

            return call_model_fn(ctx.model_fn, features, labels, mode, ctx.params_for(mode), config)

        return bound_model_fn

    def _context_for(self, mode: str) -> EngineContext:
        """The engine context for a call; when it runs on TPU cores, resolves the TPU first
        (or fails clearly)."""
        if not self._ctx.on_tpu(mode):
            return self._ctx
        from estimator_core import tpu

        resolver, devices = tpu.require_tpu(self.config, mode)
        return tpu.context_on_tpu(self._ctx, resolver, devices)

    def train(self, input_fn, hooks=None, steps=None, max_steps=None, saving_listeners=None):
        """Trains for `steps` more steps or up to `max_steps` (or until input ends); returns self."""
        return self._train(input_fn, hooks, steps, max_steps, saving_listeners)

    def _train(
        self, input_fn, hooks, steps, max_steps, saving_listeners, save_checkpoints_steps=None
    ):
        """train(), with RunConfig's checkpoint cadence replaced for this call when
        `save_checkpoints_steps` is given (train_and_evaluate's eval_every_steps)."""
        if steps is not None and max_steps is not None:
            raise ValueError("Can not provide both steps and max_steps.")
        steps = _steps("steps", steps)
        max_steps = _steps("max_steps", max_steps)
        save_checkpoints_steps = _steps("save_checkpoints_steps", save_checkpoints_steps)
        ctx = self._context_for(ModeKeys.TRAIN)
        self.last_train_result = training.run_train(
            ctx,
            input_fn,
            hooks=hooks,
            steps=steps,
            max_steps=max_steps,
            saving_listeners=saving_listeners,
            cache=self._graphs,
            save_checkpoints_steps=save_checkpoints_steps,
        )
        return self

    def evaluate(self, input_fn, steps=None, hooks=None, checkpoint_path=None, name=None) -> dict:
        """Evaluates `steps` batches (or all input) and returns the metrics, loss and global_step."""
        steps = _steps("steps", steps)
        ctx = self._context_for(ModeKeys.EVAL)
        checkpoint = checkpoints.require_checkpoint(self.model_dir, checkpoint_path)
        return evaluation.run_evaluate(
            ctx,
            input_fn,
            steps=steps,
            hooks=hooks,
            checkpoint=checkpoint,
            name=name,
            cache=self._graphs,
        )

    def predict(
        self,
        input_fn,
        predict_keys=None,
        hooks=None,
        checkpoint_path=None,
        yield_single_examples=True,
    ) -> Iterator:
        """Yields predictions (one example at a time by default) until input ends."""
        ctx = self._context_for(ModeKeys.PREDICT)
        checkpoint = checkpoints.require_checkpoint(self.model_dir, checkpoint_path)
        return prediction.run_predict(
            ctx,
            input_fn,
            predict_keys=predict_keys,
            hooks=hooks,
            checkpoint=checkpoint,
            yield_single_examples=yield_single_examples,
            cache=self._graphs,
        )

    def export_saved_model(
        self,
        export_dir_base,
        serving_input_receiver_fn,
        assets_extra=None,
        as_text=False,
        checkpoint_path=None,
    ) -> str:
        """Writes a timestamped SavedModel under export_dir_base and returns its path."""
        if serving_input_receiver_fn is None:
            raise ValueError("serving_input_receiver_fn must be defined")
        checkpoint = checkpoints.require_checkpoint(self.model_dir, checkpoint_path)
        return export_lib.export_saved_model(
            self._ctx,
            export_dir_base,
            serving_input_receiver_fn,
            assets_extra=assets_extra,
            as_text=as_text,
            checkpoint=checkpoint,
        )

    export_savedmodel = export_saved_model

    def evaluate_continuously(
        self,
        input_fn,
        steps=None,
        hooks=None,
        name=None,
        timeout_secs=600,
        final_step=None,
        poll_secs=1.0,
        start_delay_secs=0,
    ) -> list[dict]:
        """Evaluates every new checkpoint as it appears in model_dir; see train_and_evaluate."""
        from estimator_core.outer_loops import evaluate_continuously

        return evaluate_continuously(
            self,
            input_fn,
            steps=steps,
            hooks=hooks,
            name=name,
            timeout_secs=timeout_secs,
            final_step=final_step,
            poll_secs=poll_secs,
            start_delay_secs=start_delay_secs,
        )

    def close(self) -> None:
        """Closes the sessions kept alive between calls (also done when the estimator is freed)."""
        self._graphs.close()

    def __del__(self):
        graphs = getattr(self, "_graphs", None)
        if graphs is not None:
            graphs.close()

    def get_variable_names(self) -> list[str]:
        return checkpoints.variable_names(self.model_dir)

    def get_variable_value(self, name):
        return checkpoints.variable_value(self.model_dir, name)

    def latest_checkpoint(self) -> str | None:
        return checkpoints.latest_checkpoint(self.model_dir)
