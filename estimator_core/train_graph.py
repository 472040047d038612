"""The TRAIN graph: input, model_fn replicated inside the in-graph loop, host_call, scaffold."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable

import tensorflow as tf

from estimator_core import checkpoints
from estimator_core.context import EngineContext, new_graph
from estimator_core.inputs import InputSource, make_input_source
from estimator_core.loop import TrainLoop, build_train_loop
from estimator_core.mode_keys import ModeKeys
from estimator_core.replication import replication_for_mode
from estimator_core.session import session_config
from estimator_core.spec import TPUEstimatorSpec, hooks_of, scaffold_of, validate_spec

log = logging.getLogger("estimator_core")
v1 = tf.compat.v1
TRAIN = ModeKeys.TRAIN


@dataclasses.dataclass
class TrainGraph:
    """A built TRAIN graph and the handles the outer loop drives."""

    graph: tf.Graph
    loop: TrainLoop
    sources: list[InputSource]
    scaffold: v1.train.Scaffold
    spec_hooks: tuple
    global_step: tf.Variable
    replication: object
    specs: list = dataclasses.field(default_factory=list)
    init_ops: list = dataclasses.field(default_factory=list)  # run once per new session
    warm_started: checkpoints.WarmStarted | None = None


def _host_call_tensors(spec) -> list:
    """The flat list of TPUEstimatorSpec.host_call tensors (rank >= 1: they are concatenated)."""
    if not isinstance(spec, TPUEstimatorSpec) or spec.host_call is None:
        return []
    tensors = tf.nest.flatten(spec.host_call[1])
    for t in tensors:
        if t.shape.rank == 0:
            raise ValueError(
                f"host_call tensor {t.name} is a scalar: host_call tensors are concatenated across "
                "shards on their first dimension, so give them rank >= 1 (e.g. tf.reshape(x, [1]))"
            )
    return tensors


def _call_host_fn(spec, carried: list):
    fn, tensors = spec.host_call
    values = tf.nest.pack_sequence_as(tensors, carried)
    result = fn(**values) if isinstance(values, dict) else fn(*values)
    return tf.group(*tf.nest.flatten(result)) if result is not None else tf.no_op()


def build_train_graph(
    ctx: EngineContext, input_fn, warm_start: bool, host_specs=None
) -> TrainGraph:
    """Calls input_fn once and model_fn once (inside the loop body) in a new graph.

    A spec with host_call is built twice: the first build learns the host tensors' types, the
    second carries the last step's values out of the loop and runs host_call on them.
    """
    graph = new_graph(ctx.config.tf_random_seed)
    with graph.as_default():
        replication = replication_for_mode(ctx, TRAIN, session_config(ctx.config))
        with replication.scope():
            global_step = v1.train.get_or_create_global_step()
        sources = [
            make_input_source(ctx.call_input_fn(input_fn, TRAIN, invocation=i), TRAIN)
            for i in range(1 if ctx.per_host_input else replication.num_local)
        ]
        calls = iter(range(10**9))

        def get_next():
            # Per-host input: one source; per-shard input: the next source on each call.
            return sources[next(calls) % len(sources)].get_next()

        def call(features, labels):
            return validate_spec(ctx.call_model_fn(features, labels, TRAIN), TRAIN)

        specs = []

        def step_fn(dep):
            host_fn = _host_call_tensors if host_specs is not None else (lambda spec: [])
            spec, train_op, loss, host = replication.train_step(get_next, call, dep, host_fn)
            specs.append(spec)
            return train_op, loss, host

        with replication.loop_building():
            loop = build_train_loop(step_fn, global_step, host_specs or ())
        _check_no_tables_in_loop(graph)
        spec = specs[0]
        rebuild_for = None
        if host_specs is None and _host_call_tensors(spec):
            rebuild_for = [
                tf.TensorSpec([None, *t.shape[1:]], t.dtype) for t in _host_call_tensors(spec)
            ]
        init_ops = list(replication.init_ops())
        if host_specs:
            # Runs on the host after each loop, on the last step's tensors from every shard.
            loop.outputs["host_call"] = _call_host_fn(spec, loop.outputs["host_tensors"])
            # tf.summary writers created in graph mode register their init ops here; TF has no
            # public getter outside a default-writer context.
            writer_inits = graph.get_collection("_SUMMARY_WRITER_V2")
            init_ops += writer_inits
            # Flushed after every loop, so host summaries reach disk as training goes.
            with tf.control_dependencies([loop.outputs["host_call"]]):
                flushes = [
                    tf.raw_ops.FlushSummaryWriter(writer=op.inputs[0]) for op in writer_inits
                ]
                loop.outputs["host_call"] = tf.group(loop.outputs["host_call"], *flushes)
        warm_started = None
        if ctx.warm_start is not None:
            if warm_start:
                warm_started = checkpoints.apply_warm_start(ctx.warm_start)
            else:
                log.info(
                    "warm_start_from %s not applied: model_dir has its own checkpoint, which wins",
                    ctx.warm_start.ckpt_to_initialize_from,
                )
        scaffold = scaffold_of(spec, lambda: checkpoints.new_saver(ctx.config))
    if rebuild_for is not None:
        return build_train_graph(ctx, input_fn, warm_start, host_specs=rebuild_for)
    return TrainGraph(
        graph,
        loop,
        sources,
        scaffold,
        hooks_of(spec, TRAIN, ctx.config.is_chief),
        global_step,
        replication,
        specs,
        init_ops,
        warm_started,
    )


def _check_no_tables_in_loop(graph: tf.Graph) -> None:
    """A lookup table built by model_fn in TRAIN mode lives inside the in-graph loop, where
    its initializer cannot run once per session: say so and how to fix it, instead of
    TensorFlow's graph-mismatch error at session start."""
    inside = [
        op for op in graph.get_collection(v1.GraphKeys.TABLE_INITIALIZERS) if op.graph is not graph
    ]
    if inside:
        raise ValueError(
            f"model_fn creates a lookup table in training ({inside[0].name}): model_fn runs "
            "inside the in-graph training loop, where table initializers cannot run. Do the "
            "lookup in input_fn (as TPU code must), or use table-free ops, e.g. "
            "tf.argmax(tf.equal(values[:, None], vocabulary), 1)"
        )


# Where tf.compat.v1.train caches its global step read (StopAtStepHook, StepCounterHook,
# CheckpointSaverHook and SummarySaverHook fetch it); a TensorFlow-internal collection name.
_GLOBAL_STEP_READ_COLLECTION = "global_step_read_op_cache"


def _reads_global_step(value, tg: TrainGraph) -> bool:
    """True for the global step variable, a tensor that just reads it, or TF's cached read."""
    if isinstance(value, str):  # a tensor name; a bare op name means its output 0
        try:
            value = tg.graph.as_graph_element(value if ":" in value else value + ":0")
        except (KeyError, ValueError, TypeError):
            return False
    global_step = tg.global_step
    if value is global_step:
        return True
    if isinstance(value, tf.Variable):
        return value.name == global_step.name
    if not isinstance(value, tf.Tensor) or value.graph is not tg.graph:
        return False
    if any(value is read for read in tg.graph.get_collection(_GLOBAL_STEP_READ_COLLECTION)):
        return True
    # The variable's own tensor, or a ReadVariableOp on its handle.
    if value.op.name == global_step.op.name:
        return True
    return value.op.type == "ReadVariableOp" and value.op.inputs[0].op.name == global_step.op.name


def global_step_after_loop(tg: TrainGraph) -> Callable[[object], object]:
    """For HookedSession: a hook's read of the global step becomes the loop's output step.

    A plain read fetched beside the loop may run before the loop's updates and show the
    previous loop's step: StopAtStepHook would then stop a loop late, StepCounterHook would
    lag. The loop's own output is read after its last step.
    """
    after = tg.loop.outputs["global_step"]

    def substitute(value):
        return after if _reads_global_step(value, tg) else value

    return substitute


def point_at_loop_outputs(hook, tg: TrainGraph) -> None:
    """Lets a LoggingTensorHook on the loss work across host loops.

    Tensors built inside the in-graph loop cannot be fetched from outside it; the loss can,
    as the loop's output (the last step's loss). Any other in-loop tensor is a clear error.
    (The global step is handled for every hook by `global_step_after_loop`.)
    """
    tensors = getattr(hook, "_tensors", None)
    if not isinstance(hook, v1.train.LoggingTensorHook) or not isinstance(tensors, dict):
        return
    for tag, tensor in list(tensors.items()):
        if not isinstance(tensor, tf.Tensor) or tensor.graph is tg.graph:
            continue
        if any(tensor is spec.loss for spec in tg.specs):
            tensors[tag] = tg.loop.outputs["loss"]
        else:
            raise ValueError(
                f"LoggingTensorHook tensor {tag!r} ({tensor.name}) is computed inside the "
                "iterations_per_loop loop and cannot be fetched from the host; log the loss, "
                "the global step, or a tensor built outside model_fn"
            )
