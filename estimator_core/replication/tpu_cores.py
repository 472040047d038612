"""Replication over TPU cores with `tf.compat.v1.tpu.replicate`; eval/predict pad the final
batch to the static batch size and drop the padding rows again."""

from __future__ import annotations

import contextlib

import tensorflow as tf

from estimator_core.replication.mirrored import control_flow_v1
from estimator_core.replication.one_device import CallModelFn
from estimator_core.replication.sharding import first_rows, pad_batch, shard_batch, train_shards

v1 = tf.compat.v1


class TPUReplicated:
    """Training replicated over TPU cores with `tf.compat.v1.tpu.replicate` inside the host loop.

    As in the original TPUEstimator, gradients are combined across cores only when model_fn
    wraps its optimizer in `tf.compat.v1.tpu.CrossShardOptimizer`. The TPU system is
    initialized once per session (`init_ops`). Unverified on TPU hardware: on machines without
    a TPU only the graph is built and checked.
    """

    def __init__(
        self,
        num_shards: int,
        target: str = "",
        cluster_def=None,
        batch_axis=None,
        per_host_input: bool = True,
        batch_size: int | None = None,
    ):
        self.num_replicas = self.num_local = num_shards
        self.session_target = target
        self._cluster_def = cluster_def
        self.batch_axis = batch_axis
        self.per_host_input = per_host_input
        self.batch_size = batch_size  # the global batch of this mode (TPU shapes are static)

    def session_config(self, config: v1.ConfigProto) -> v1.ConfigProto:
        merged = v1.ConfigProto()
        merged.CopyFrom(config)
        merged.isolate_session_state = True
        if self._cluster_def is not None:
            merged.cluster_def.CopyFrom(self._cluster_def)
        return merged

    def scope(self):
        return contextlib.nullcontext()

    def loop_building(self):
        return control_flow_v1()

    def init_ops(self) -> list:
        return [v1.tpu.initialize_system()]

    def train_step(self, get_next, call: CallModelFn, dep, host_fn=lambda spec: []):
        shards = train_shards(get_next, self.num_shards, self.batch_axis, self.per_host_input, dep)
        structure = shards[0]
        specs = []

        def core_fn(*flat):
            spec = call(*tf.nest.pack_sequence_as(structure, list(flat)))
            specs.append(spec)
            with tf.control_dependencies([spec.train_op]):
                return [tf.cast(tf.identity(spec.loss), tf.float32), *host_fn(spec)]

        outputs = v1.tpu.replicate(core_fn, inputs=[tf.nest.flatten(s) for s in shards])
        loss = tf.add_n([out[0] for out in outputs]) / float(self.num_shards)
        host = [tf.concat([out[k] for out in outputs], axis=0) for k in range(1, len(outputs[0]))]
        train_op = tf.group(*[out[0] for out in outputs])
        return specs[0], train_op, loss, host

    def _replicate_padded(self, features, labels, core_fn):
        """Pads the host batch to the full static batch, splits it over the cores and runs
        `core_fn(shard_features, shard_labels, real_rows_in_shard) -> list of tensors` on each;
        returns the per-core outputs and the real row count."""
        if self.batch_size is None:
            raise ValueError("evaluation/prediction on TPU cores needs eval/predict_batch_size")
        features, labels, count = pad_batch(features, labels, self.batch_size, self.batch_axis)
        shards = shard_batch(features, labels, self.num_shards, self.batch_axis)
        per_shard = self.batch_size // self.num_shards
        real = [
            tf.cast(tf.clip_by_value(count - i * per_shard, 0, per_shard), tf.float32)
            for i in range(self.num_shards)
        ]
        structure = shards[0]

        def replica_fn(real_rows, *flat):
            return core_fn(*tf.nest.pack_sequence_as(structure, list(flat)), real_rows)

        outputs = v1.tpu.replicate(
            replica_fn, inputs=[[r, *tf.nest.flatten(s)] for r, s in zip(real, shards)]
        )
        return outputs, count

    def eval_step(self, features, labels, call: CallModelFn, gather_fn):
        """Every core evaluates one shard of the padded batch; the metric tensors come back to
        the host in input order with the padding rows dropped, so metric_fn sees each example
        once. The loss is weighted by each core's real rows; a core holding both real and
        padding rows reports its mean over both (padding repeats real rows)."""
        specs, gathered_structure = [], []

        def core_fn(shard_features, shard_labels, real_rows):
            spec = call(shard_features, shard_labels)
            specs.append(spec)
            gathered = gather_fn(spec)
            gathered_structure.append(gathered)
            loss = tf.cast(spec.loss, tf.float32)
            return [loss * real_rows, *tf.nest.flatten(gathered)]

        outputs, count = self._replicate_padded(features, labels, core_fn)
        total = tf.add_n([out[0] for out in outputs])
        concatenated = [
            tf.concat([out[k] for out in outputs], axis=0) for k in range(1, len(outputs[0]))
        ]
        gathered = tf.nest.pack_sequence_as(gathered_structure[0], concatenated)
        return specs[0], total, tf.cast(count, tf.float32), first_rows(gathered, count)

    def predict_step(self, features, call: CallModelFn):
        """Every core predicts one shard of the padded batch; one prediction per real input,
        in input order."""
        specs, structure = [], []

        def core_fn(shard_features, _labels, _real_rows):
            spec = call(shard_features, None)
            specs.append(spec)
            structure.append(spec.predictions)
            return tf.nest.flatten(spec.predictions)

        outputs, count = self._replicate_padded(features, None, core_fn)
        concatenated = [
            tf.concat([out[k] for out in outputs], axis=0) for k in range(len(outputs[0]))
        ]
        predictions = tf.nest.pack_sequence_as(structure[0], concatenated)
        return specs[0], first_rows(predictions, count)

    @property
    def num_shards(self) -> int:
        return self.num_replicas
