"""Estimator: the original tf.estimator.Estimator's contract, and the base TPUEstimator stands on."""

from __future__ import annotations

import copy
import dataclasses
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

from estimator_core import checkpoints, evaluation, prediction, training
from estimator_core import export as export_lib
from estimator_core.checks import positive_int
from estimator_core.config import RunConfig
from estimator_core.context import EngineContext
from estimator_core.graph_cache import GraphCache
from estimator_core.mode_keys import ModeKeys
from estimator_core.training import TrainCall
from estimator_core.user_fns import call_model_fn, validate_model_fn

log = logging.getLogger("estimator_core")


def resolve_model_dir(model_dir: str | None, config: RunConfig) -> str:
    """The one model_dir of `model_dir` and `config.model_dir` (a new temporary one if neither)."""
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


class Estimator:
    """Trains, evaluates, predicts with and exports a model given by `model_fn`.

    The original `tf.estimator.Estimator`: model_fn takes any of (features, labels, mode,
    params, config) and returns an EstimatorSpec (or TPUEstimatorSpec); input_fns take any of
    (params, config, mode, input_context) and return a Dataset or (features, labels). Training
    runs one step per `session.run`, with every hook called at every step, as the original did.
    `iterations_per_loop=N` opts into the in-graph loop: N steps per `session.run`, hooks
    called once per loop (faster on small steps).

    Example:
        def model_fn(features, labels, mode):
            logits = tf.compat.v1.layers.dense(features["x"], 3)
            loss = tf.compat.v1.losses.sparse_softmax_cross_entropy(labels, logits)
            train_op = tf.compat.v1.train.AdamOptimizer().minimize(
                loss, global_step=tf.compat.v1.train.get_global_step())
            return EstimatorSpec(mode, loss=loss, train_op=train_op,
                                 predictions={"logits": logits})

        est = Estimator(model_fn, model_dir="/tmp/m")
        est.train(lambda: dataset.batch(32), max_steps=1000)
    """

    def __init__(
        self,
        model_fn: Callable,
        model_dir: str | None = None,
        config: RunConfig | None = None,
        params: dict[str, Any] | None = None,
        warm_start_from=None,
        *,
        iterations_per_loop: int | None = None,
    ):
        config = RunConfig() if config is None else config
        if not isinstance(config, RunConfig):
            raise ValueError(f"config must be an estimator_core.RunConfig, got {config!r}")
        validate_model_fn(model_fn)
        if config.train_distribute is not None or config.eval_distribute is not None:
            raise ValueError(
                "Estimator runs on one device; for RunConfig.train_distribute/eval_distribute use "
                "TPUEstimator(use_tpu=False, train_batch_size=..., ...), which splits each batch "
                "over the replicas"
            )
        loop = positive_int("iterations_per_loop", iterations_per_loop, optional=True)
        model_dir = resolve_model_dir(model_dir, config)
        config = config.replace(model_dir=model_dir)
        # The engine's view: one step per loop unless the in-graph loop was asked for.
        tpu_config = dataclasses.replace(config.tpu_config, iterations_per_loop=loop or 1)
        ctx = EngineContext(
            model_fn=model_fn,
            model_dir=model_dir,
            config=config.replace(tpu_config=tpu_config),
            params=copy.deepcopy(dict(params or {})),
            use_tpu=False,
            batch_sizes={},
            warm_start=checkpoints.resolve_warm_start(warm_start_from),
            in_graph_loop=loop is not None,
            tpu_params=False,
        )
        # A new graph per call, as the original: model_fn runs and hooks begin at every call.
        self._set_context(ctx, config, reuse_graphs=False)

    def _set_context(self, ctx: EngineContext, config: RunConfig, reuse_graphs: bool) -> None:
        self._ctx = ctx
        self._config = config
        # With reuse, a call like the previous one keeps its graph and session (TPUEstimator).
        self._graphs = GraphCache() if reuse_graphs else None

    # Properties, as the original.
    @property
    def config(self) -> RunConfig:
        return self._config

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
            return call_model_fn(ctx.model_fn, features, labels, mode, ctx.params_for(mode), config)

        return bound_model_fn

    def _context_for(self, mode: str) -> EngineContext:
        """The engine context for a call in `mode` (TPUEstimator resolves the TPU here)."""
        return self._ctx

    def train(
        self,
        input_fn,
        hooks=None,
        steps=None,
        max_steps=None,
        saving_listeners=None,
        *,
        save_checkpoints_steps=None,
    ):
        """Trains for `steps` more steps or up to `max_steps` (or until input ends); returns self.

        `save_checkpoints_steps`, when given, replaces RunConfig's checkpoint cadence for this
        call (train_and_evaluate's eval_every_steps).
        """
        call = TrainCall(
            input_fn, hooks, steps, max_steps, saving_listeners, save_checkpoints_steps
        )
        ctx = self._context_for(ModeKeys.TRAIN)
        self.last_train_result = training.run_train(ctx, call, self._graphs)
        return self

    def evaluate(self, input_fn, steps=None, hooks=None, checkpoint_path=None, name=None) -> dict:
        """Evaluates `steps` batches (or all input) and returns the metrics, loss and global_step."""
        steps = positive_int("steps", steps, optional=True)
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
        checkpoint, cache = None, None
        if checkpoint_path or checkpoints.latest_checkpoint(self.model_dir):
            checkpoint = checkpoints.require_checkpoint(self.model_dir, checkpoint_path)
            cache = self._graphs
        else:
            # As the original: an untrained model predicts with its variables' initial values
            # (init_from_checkpoint in model_fn sets them). Not cached: reuse restores a checkpoint.
            log.info(
                "No trained model in model_dir %s: predicting from initialized variables",
                self.model_dir,
            )
        return prediction.run_predict(
            ctx,
            input_fn,
            predict_keys=predict_keys,
            hooks=hooks,
            checkpoint=checkpoint,
            yield_single_examples=yield_single_examples,
            cache=cache,
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
        if self._graphs is not None:
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

    def eval_dir(self, name: str | None = None) -> str:
        """Where evaluate(name=name) writes its summaries: model_dir/eval or eval_<name>."""
        return evaluation.eval_dir(self.model_dir, name)


def __getattr__(name: str):
    # `estimator.TPUEstimator`, where it lived before it moved beside its TPU pieces.
    if name == "TPUEstimator":
        from estimator_core.tpu_estimator import TPUEstimator

        return TPUEstimator
    raise AttributeError(f"module 'estimator_core.estimator' has no attribute {name!r}")
