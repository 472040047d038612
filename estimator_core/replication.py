"""Where model_fn runs: one device, or replicas of a tf.distribute strategy, behind one interface.

The engine's train/eval/predict builders only call `train_step`, `eval_step` and
`predict_step`; sharding the host batch, running model_fn per replica, mean-reducing
gradients and gathering tensors back to the host all live here.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable

import tensorflow as tf

from estimator_core.inputs import batch_size_of
from estimator_core.mode_keys import ModeKeys

log = logging.getLogger("estimator_core")
v1 = tf.compat.v1

# call(features, labels) -> spec; the builder binds the mode and params.
CallModelFn = Callable[[object, object], object]


def _batch_axes(batch_axis, features, labels) -> list[int]:
    """One split axis per flattened input tensor (default: the major dimension)."""
    flat = tf.nest.flatten((features, labels))
    if batch_axis is None:
        return [0] * len(flat)
    axes = list(tf.nest.flatten(batch_axis))
    if len(axes) != len(flat):
        raise ValueError(
            f"batch_axis {batch_axis!r} gives {len(axes)} axes but input_fn produced {len(flat)} "
            "tensors (features and labels flattened): give one axis per tensor"
        )
    for axis, tensor in zip(axes, flat):
        rank = tensor.shape.rank
        if not isinstance(axis, int) or (rank is not None and not 0 <= axis < rank):
            raise ValueError(
                f"batch_axis {axis!r} is not a valid axis for tensor {tensor.name} of rank {rank}"
            )
    return axes


def shard_batch(features, labels, num_shards: int, batch_axis=None, require_even: bool = False):
    """Splits a host batch into `num_shards` contiguous shards along each tensor's batch axis.

    With `require_even`, a batch that does not divide evenly fails at run time naming both
    sizes; otherwise shards differ by at most one row (a partial final eval/predict batch).
    """
    no_labels = labels is None
    labels = () if no_labels else labels  # an empty structure flattens to nothing
    axes = _batch_axes(batch_axis, features, labels)
    flat = tf.nest.flatten((features, labels))
    sizes = [tf.shape(t)[a] for t, a in zip(flat, axes)]
    checks = [
        tf.debugging.assert_equal(
            s, sizes[0], message="input tensors disagree on batch size along batch_axis"
        )
        for s in sizes[1:]
    ]
    if require_even:
        checks.append(
            tf.debugging.assert_equal(
                sizes[0] % num_shards,
                0,
                message=f"batch does not split evenly over {num_shards} shards along batch_axis",
            )
        )
    with tf.control_dependencies(checks):
        total = tf.identity(sizes[0])
    bounds = [total * i // num_shards for i in range(num_shards + 1)]
    shards = []
    for i in range(num_shards):
        pieces = []
        for tensor, axis in zip(flat, axes):
            begin = [0] * tensor.shape.rank
            size = [-1] * tensor.shape.rank
            begin[axis] = bounds[i]
            size[axis] = bounds[i + 1] - bounds[i]
            pieces.append(tf.slice(tensor, begin, size))
        shard = tf.nest.pack_sequence_as((features, labels), pieces)
        shards.append((shard[0], None) if no_labels else shard)
    return shards


@contextlib.contextmanager
def _control_flow_v1():
    """Loops over replicas need v1 control flow: a v2 While op would colocate every captured
    variable on one device, which fails for variables mirrored on several."""
    was_v2 = tf.compat.v1.control_flow_v2_enabled()
    v1.disable_control_flow_v2()
    try:
        yield
    finally:
        if was_v2:
            v1.enable_control_flow_v2()


class OneDevice:
    """model_fn runs once, on the default device."""

    num_replicas = 1
    num_local = 1
    session_target = ""

    def session_config(self, config: v1.ConfigProto) -> v1.ConfigProto:
        return config

    def scope(self):
        return contextlib.nullcontext()

    def loop_building(self):
        return contextlib.nullcontext()

    def init_ops(self) -> list:
        """Ops to run once in each new session (none off TPU)."""
        return []

    def train_step(self, get_next, call: CallModelFn, dep, host_fn=lambda spec: []):
        """(spec, train_op, loss, host tensors) for one step."""
        with tf.control_dependencies([dep]):
            features, labels = get_next()
            spec = call(features, labels)
        return spec, spec.train_op, spec.loss, host_fn(spec)

    def eval_step(self, features, labels, call: CallModelFn, gather_fn):
        """Returns (spec, loss weighted sum, example count, gathered metric tensors)."""
        spec = call(features, labels)
        count = tf.cast(batch_size_of(features, labels), tf.float32)
        return spec, tf.cast(spec.loss, tf.float32) * count, count, gather_fn(spec)

    def predict_step(self, features, call: CallModelFn):
        spec = call(features, None)
        return spec, spec.predictions


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
        return _control_flow_v1()

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
        with tf.control_dependencies([dep]):
            if self.per_host_input:
                features, labels = get_next()
                shards = shard_batch(
                    features, labels, self.num_local, self.batch_axis, require_even=True
                )
            else:
                shards = [get_next() for _ in range(self.num_local)]
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


def _rebuild_in_graph(strategy):
    """A strategy like `strategy`, created inside the current graph.

    Strategies built eagerly (as users build them for RunConfig) configure themselves for
    eager execution; the engine's graphs need one created in graph mode over the same devices.
    """
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        return tf.distribute.MirroredStrategy(devices=list(strategy.extended.worker_devices))
    return strategy


def replication_for(strategy, batch_axis, per_host_input: bool, target: str = ""):
    """OneDevice when no strategy is configured, else Replicated over a graph-mode copy of it."""
    if strategy is None:
        return OneDevice()
    return Replicated(
        _rebuild_in_graph(strategy),
        batch_axis=batch_axis,
        per_host_input=per_host_input,
        target=target,
    )


def replication_for_mode(ctx, mode: str, base_config: v1.ConfigProto | None = None):
    """Where `mode` runs for this estimator: TPU cores, the TF_CONFIG workers, a strategy's
    replicas, or one device. Call inside the graph being built."""
    # Per-shard input is a training option; eval/predict always split a host batch.
    per_host = ctx.per_host_input if mode == ModeKeys.TRAIN else True
    if ctx.on_tpu(mode):
        return TPUReplicated(
            ctx.num_replicas(mode),
            target=ctx.tpu_target,
            cluster_def=ctx.tpu_cluster_def,
            batch_axis=ctx.batch_axis,
            per_host_input=per_host,
            batch_size=ctx.batch_size(mode),
        )
    if mode == ModeKeys.TRAIN and ctx.multi_worker:
        return multi_worker(ctx.batch_axis, per_host, base_config)
    return replication_for(ctx.strategy(mode), ctx.batch_axis, per_host)


def pad_batch(features, labels, batch_size: int, batch_axis=None):
    """(features, labels) padded to exactly `batch_size` rows, and the real row count.

    A partial final batch is filled by repeating its own rows (in-distribution values: no
    zeros that could turn a loss into NaN); callers drop the extra rows again by count.
    """
    no_labels = labels is None
    labels = () if no_labels else labels
    axes = _batch_axes(batch_axis, features, labels)
    flat = tf.nest.flatten((features, labels))
    count = tf.shape(flat[0])[axes[0]]
    with tf.control_dependencies(
        [
            tf.debugging.assert_less_equal(
                count, batch_size, message=f"input batch is larger than the batch size {batch_size}"
            )
        ]
    ):
        rows = tf.range(batch_size) % tf.maximum(count, 1)
    padded = []
    for tensor, axis in zip(flat, axes):
        filled = tf.gather(tensor, rows, axis=axis)
        shape = filled.shape.as_list() if filled.shape.rank is not None else None
        if shape is not None:
            shape[axis] = batch_size
            filled.set_shape(shape)
        padded.append(filled)
    features, labels = tf.nest.pack_sequence_as((features, labels), padded)
    return features, None if no_labels else labels, count


def _first_rows(structure, count):
    """Each tensor of `structure` cut to its first `count` rows (undoes pad_batch's filling)."""
    return tf.nest.map_structure(lambda t: t[:count], structure)


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
        return _control_flow_v1()

    def init_ops(self) -> list:
        return [v1.tpu.initialize_system()]

    def train_step(self, get_next, call: CallModelFn, dep, host_fn=lambda spec: []):
        with tf.control_dependencies([dep]):
            if self.per_host_input:
                features, labels = get_next()
                shards = shard_batch(
                    features, labels, self.num_shards, self.batch_axis, require_even=True
                )
            else:
                shards = [get_next() for _ in range(self.num_shards)]
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
        return specs[0], total, tf.cast(count, tf.float32), _first_rows(gathered, count)

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
        return specs[0], _first_rows(predictions, count)

    @property
    def num_shards(self) -> int:
        return self.num_replicas
