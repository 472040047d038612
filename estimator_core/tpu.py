"""Finding the TPU: TPUClusterResolver from RunConfig.cluster, master or TPU_NAME, with clear errors."""

from __future__ import annotations

import dataclasses
import logging
import os

import tensorflow as tf

log = logging.getLogger("estimator_core")


class TPUNotFoundError(RuntimeError):
    """use_tpu=True but no TPU could be resolved; the message says how to fix it."""


def resolve_cluster(config):
    """The cluster resolver for this run: RunConfig.cluster, else one built from master/TPU_NAME."""
    if config.cluster is not None:
        return config.cluster
    tpu = config.master or os.environ.get("TPU_NAME")
    if not tpu:
        raise TPUNotFoundError(
            "use_tpu=True but no TPU is configured: pass RunConfig(cluster="
            "tf.distribute.cluster_resolver.TPUClusterResolver(tpu=NAME)) or master='grpc://...', "
            "or set TPU_NAME; to run on CPU/GPU instead, construct TPUEstimator(use_tpu=False)"
        )
    try:
        return tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
    except (ValueError, RuntimeError, ImportError, OSError) as e:
        raise TPUNotFoundError(
            f"use_tpu=True but TPU {tpu!r} could not be resolved ({e}); check the TPU name and "
            "zone, or construct TPUEstimator(use_tpu=False) to run on CPU/GPU"
        ) from e


def require_tpu(config, mode: str):
    """Resolves the TPU and checks it has TPU devices; raises TPUNotFoundError otherwise."""
    resolver = resolve_cluster(config)
    master = resolver.master() if hasattr(resolver, "master") else ""
    try:
        tf.config.experimental_connect_to_cluster(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as e:
        raise TPUNotFoundError(
            f"use_tpu=True ({mode}): cannot connect to TPU at {master or resolver!r}: {e}. "
            "Check the TPU name, or use TPUEstimator(use_tpu=False)"
        ) from e
    tpu_devices = tf.config.list_logical_devices("TPU")
    if not tpu_devices:
        raise TPUNotFoundError(
            f"use_tpu=True ({mode}) but {master or 'the cluster'} has no TPU devices; "
            "use TPUEstimator(use_tpu=False) to run on CPU/GPU"
        )
    log.info("TPU resolved at %s: %d cores", master, len(tpu_devices))
    return resolver, tpu_devices


def context_on_tpu(ctx, resolver, tpu_devices):
    """`ctx` for a call on the resolved TPU: its master, cluster and (default) one shard per core."""
    cluster_spec = resolver.cluster_spec()
    tpu_config = ctx.config.tpu_config
    if tpu_config.num_shards is None:
        tpu_config = tpu_config.replace(num_shards=len(tpu_devices))
    return dataclasses.replace(
        ctx,
        config=ctx.config.replace(tpu_config=tpu_config),
        tpu_target=resolver.master(),
        tpu_cluster_def=cluster_spec.as_cluster_def() if cluster_spec.jobs else None,
    )
