"""Replication over a tf.distribute strategy's replicas in graph mode (MirroredStrategy and the
per-worker replicas of MultiWorkerMirroredStrategy): shard, run model_fn per replica, reduce."""

from __future__ import annotations

import contextlib

import tensorflow as tf

from estimator_core.inputs import batch_size_of
from estimator_core.replication.one_device import CallModelFn
from estimator_core.replication.sharding import shard_batch, train_shards

v1 = tf.compat.v1


@contextlib.contextmanager
def control_flow_v1():
    """Loops over replicas need v1 control flow: a v2 While op would colocate every captured
    variable on one device, which fails for variables mirrored on several."""
    was_v2 = tf.compat.v1.control_flow_v2_enabled()
    v1.disable_control_flow_v2()
    try:
        yield
    finally:
        if was_v2:
            v1.enable_control_flow_v2()


class Replicated:
    """model_fn runs on every replica of a tf.distribute strategy (in graph mode).

    The host batch (global batch / hosts) is split along `batch_axis` into one shard per
    replica; gradients are averaged across replicas as TPUEstimator's CrossShardOptimizer did,
    so a model_fn written for one device trains the same on N; eval/predict tensors are
    gathered back to the host in input order.
    """

    def __init__(self, strategy, batch_axis=None, per_host_input: bool = True, target: str = ""):
        self.strategy = strategy
        self.num_replicas = strategy.num_replicas_in_sync
        # Replicas on this host: a host batch is split over these only (all of them in one
        # process; one per worker under MultiWorkerMirroredStrategy on CPUs).
        self.num_local = len(strategy.extended.worker_devices)
        self.batch_axis = batch_axis
        self.per_host_input = per_host_input
        self.session_target = target

    def session_config(self, config: v1.ConfigProto) -> v1.ConfigProto:
        merged = v1.ConfigProto()
        merged.CopyFrom(config)
        cpus = sum(1 for d in self.strategy.extended.worker_devices if "CPU" in d.upper())
        if cpus > merged.device_count.get("CPU", 1):
            merged.device_count["CPU"] = cpus
        if hasattr(self.strategy, "update_config_proto"):
            merged = self.strategy.update_config_proto(merged)
        return merged

    def scope(self):
        return self.strategy.scope()

    def loop_building(self):
        return control_flow_v1()

    def init_ops(self) -> list:
        return []

    def _distribute(self, shards):
        return self.strategy.experimental_distribute_values_from_function(
            lambda ctx: shards[ctx.replica_id_in_sync_group % self.num_local]
        )

    def _local(self, value) -> list:
        return list(self.strategy.experimental_local_results(value))

    def _scale_loss(self):
        # v1 optimizers SUM gradients over replicas; this is the switch tf.estimator used to
        # make them scale each replica's loss by 1/replicas (mean semantics). TF exposes no
        # public equivalent for v1 optimizers in graph mode.
        return self.strategy._scale_loss_for_estimator_enabled()

    def train_step(self, get_next, call: CallModelFn, dep, host_fn=lambda spec: []):
        """(first replica's spec, train_op, mean loss, host tensors gathered from every replica)."""
        shards = train_shards(get_next, self.num_local, self.batch_axis, self.per_host_input, dep)
        specs = []

        def replica_fn(shard, dep):
            # Control dependencies are thread-local and replicas run in their own threads:
            # restate the loop-carried dependency so reads see the previous step's update.
            with tf.control_dependencies([dep]):
                spec = call(*shard)
                specs.append(spec)
                with tf.control_dependencies([spec.train_op]):
                    loss = tf.cast(tf.identity(spec.loss), tf.float32)
                    return loss, [tf.identity(t) for t in host_fn(spec)]

        with self.strategy.scope(), self._scale_loss():
            losses, host = self.strategy.run(replica_fn, args=(self._distribute(shards), dep))
        loss = self.strategy.reduce(tf.distribute.ReduceOp.MEAN, losses, axis=None)
        train_op = tf.group(*self._local(losses))
        gathered = [tf.concat(self._local(t), axis=0) for t in host]
        return specs[0], train_op, loss, gathered

    def eval_step(self, features, labels, call: CallModelFn, gather_fn):
        shards = shard_batch(features, labels, self.num_local, self.batch_axis)
        specs = []

        def replica_fn(shard):
            spec = call(*shard)
            specs.append(spec)
            count = tf.cast(batch_size_of(*shard), tf.float32)
            loss = tf.cast(spec.loss, tf.float32)
            # An empty shard (tiny final batch) has a NaN mean loss: it weighs nothing.
            weighted = tf.where(count > 0, loss * count, 0.0)
            return weighted, count, gather_fn(spec)

        with self.strategy.scope():
            weighted, count, tensors = self.strategy.run(
                replica_fn, args=(self._distribute(shards),)
            )
        total = tf.add_n(self._local(weighted))
        n = tf.add_n(self._local(count))
        parts = self._local_structs(tensors)
        gathered = tf.nest.map_structure(lambda *p: tf.concat(p, axis=0), *parts)
        return specs[0], total, n, gathered

    def _local_structs(self, structure):
        flat = tf.nest.flatten(structure)
        per_replica = [self._local(v) for v in flat]
        return [
            tf.nest.pack_sequence_as(structure, [p[i] for p in per_replica])
            for i in range(self.num_local)
        ]

    def predict_step(self, features, call: CallModelFn):
        shards = shard_batch(features, None, self.num_local, self.batch_axis)
        specs = []

        def replica_fn(shard):
            spec = call(shard[0], None)
            specs.append(spec)
            return spec.predictions

        with self.strategy.scope():
            predictions = self.strategy.run(replica_fn, args=(self._distribute(shards),))
        parts = self._local_structs(predictions)
        return specs[0], tf.nest.map_structure(lambda *p: tf.concat(p, axis=0), *parts)
