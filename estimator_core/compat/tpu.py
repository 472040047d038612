"""The `tf.compat.v1.estimator.tpu` names, accepting legacy-only arguments with one clear word each.

Arguments this engine has no use for are dropped with a warning naming them; arguments whose
meaning it cannot honor (TPU embeddings, device functions) are errors rather than silence.
"""

from __future__ import annotations

import logging

from estimator_core import config as _config
from estimator_core import estimator as _estimator
from estimator_core.config import InputPipelineConfig
from estimator_core.spec import TPUEstimatorSpec

log = logging.getLogger("estimator_core")

_IGNORED_ESTIMATOR = {
    "eval_on_tpu": "evaluation runs on the TPU exactly when eval_batch_size is set",
    "export_to_tpu": "exports are CPU SavedModels",
    "export_to_cpu": "exports are always CPU SavedModels",
    "export_saved_model_api_version": "there is one export path",
}
_UNSUPPORTED_ESTIMATOR = {
    "embedding_config_spec": "TPU embeddings (TPUEmbedding) are not supported",
}
_IGNORED_RUN_CONFIG = {
    "keep_checkpoint_every_n_hours": "only keep_checkpoint_max is applied",
    "protocol": "the gRPC protocol is chosen by TensorFlow",
    "experimental_max_worker_delay_secs": "workers start together",
    "session_creation_timeout_secs": "use RunConfig.loop_timeout_secs for hung peers",
    "checkpoint_save_graph_def": "graph.pbtxt is always written",
    "experimental_distribute": "use train_distribute / eval_distribute",
}
_UNSUPPORTED_RUN_CONFIG = {
    "device_fn": "device functions are not supported; use a tf.distribute strategy"
}
_IGNORED_TPU_CONFIG = {
    "input_partition_dims": "spatial partitioning is not supported and is ignored",
    "experimental_host_call_every_n_steps": "host_call runs as configured in TPUEstimatorSpec",
    "experimental_allow_per_host_v2_parallel_get_next": "input is read per host by tf.data",
    "experimental_feed_hook": "there is no infeed to hook",
}


def _split_legacy(kwargs: dict, ignored: dict, unsupported: dict, owner: str) -> dict:
    for name, why in unsupported.items():
        if kwargs.get(name) is not None:
            raise ValueError(f"{owner}({name}=...): {why}")
        kwargs.pop(name, None)
    for name, why in ignored.items():
        if name in kwargs:
            kwargs.pop(name)
            log.warning("%s: argument %r is ignored: %s", owner, name, why)
    return kwargs


class TPUEstimator(_estimator.TPUEstimator):
    """estimator_core.TPUEstimator, also accepting the legacy-only constructor arguments."""

    def __init__(
        self,
        model_fn=None,
        model_dir=None,
        config=None,
        params=None,
        use_tpu=True,
        train_batch_size=None,
        eval_batch_size=None,
        predict_batch_size=None,
        batch_axis=None,
        warm_start_from=None,
        **legacy,
    ):
        _split_legacy(legacy, _IGNORED_ESTIMATOR, _UNSUPPORTED_ESTIMATOR, "TPUEstimator")
        if legacy:
            raise TypeError(f"TPUEstimator got unexpected arguments {sorted(legacy)}")
        super().__init__(
            model_fn=model_fn,
            model_dir=model_dir,
            config=config,
            params=params,
            use_tpu=use_tpu,
            train_batch_size=train_batch_size,
            eval_batch_size=eval_batch_size,
            predict_batch_size=predict_batch_size,
            batch_axis=batch_axis,
            warm_start_from=warm_start_from,
        )


def RunConfig(**kwargs) -> _config.RunConfig:  # noqa: N802 - the legacy class name
    """estimator_core.RunConfig, also accepting (and naming) legacy-only arguments."""
    return _config.RunConfig(
        **_split_legacy(kwargs, _IGNORED_RUN_CONFIG, _UNSUPPORTED_RUN_CONFIG, "RunConfig")
    )


def TPUConfig(*args, **kwargs) -> _config.TPUConfig:  # noqa: N802 - the legacy class name
    """estimator_core.TPUConfig, also accepting (and naming) legacy-only arguments."""
    return _config.TPUConfig(*args, **_split_legacy(kwargs, _IGNORED_TPU_CONFIG, {}, "TPUConfig"))


__all__ = ["InputPipelineConfig", "RunConfig", "TPUConfig", "TPUEstimator", "TPUEstimatorSpec"]


def __getattr__(name: str):
    # The rest of tf.contrib.tpu lives on as tf.compat.v1.tpu (CrossShardOptimizer,
    # bfloat16_scope, cross_replica_sum, rewrite, shard, ...).
    import tensorflow as tf

    try:
        return getattr(tf.compat.v1.tpu, name)
    except AttributeError:
        raise AttributeError(
            f"estimator_core.compat.tpu has no {name!r} (neither has tf.compat.v1.tpu)"
        ) from None
