"""Replication over every worker in TF_CONFIG: one tf.distribute.Server per process and
MultiWorkerMirroredStrategy's collective all-reduce between them."""

from __future__ import annotations

import tensorflow as tf

from estimator_core.replication.mirrored import Replicated

v1 = tf.compat.v1

_SERVERS: dict = {}


def _server_for(resolver, config: v1.ConfigProto):
    """This process's tf.distribute.Server (one per process: it owns the task's port)."""
    key = (resolver.task_type, resolver.task_id, str(resolver.cluster_spec().as_dict()))
    if key not in _SERVERS:
        _SERVERS[key] = tf.distribute.Server(
            resolver.cluster_spec(),
            job_name=resolver.task_type,
            task_index=resolver.task_id,
            config=config,
            start=True,
        )
    return _SERVERS[key]


def multi_worker(batch_axis, per_host_input: bool, base_config: v1.ConfigProto):
    """Replicated over every worker in TF_CONFIG (collective all-reduce between processes).

    Collectives get no per-op timeout: in TF 2.21 a timed collective leaks a thread per call
    (measured: both workers abort after ~4000 steps); a hung peer is caught by the loop
    timeout (RunConfig.loop_timeout_secs) instead, and a dead one fails the next all-reduce.
    """
    resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    strategy = tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    server = _server_for(resolver, strategy.update_config_proto(base_config))
    return Replicated(
        strategy, batch_axis=batch_axis, per_host_input=per_host_input, target=server.target
    )
