"""The TRAIN graph: input, model_fn replicated inside the in-graph loop, host_call, scaffold."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Sequence

import tensorflow as tf

from estimator_core import checkpoints, loop_fit, step_order
from estimator_core.context import EngineContext
from estimator_core.inputs import InputSource, make_input_source
from estimator_core.loop import Loop, build_in_graph_loop, build_per_step_loop
from estimator_core.loop_fit import LoopBlocked
from estimator_core.mode_graph import mode_graph
from estimator_core.mode_keys import ModeKeys
from estimator_core.replication import Replication, TPUReplicated
from estimator_core.session import session_config
from estimator_core.spec import TPUEstimatorSpec, hooks_of, scaffold_of

log = logging.getLogger("estimator_core")
v1 = tf.compat.v1
TRAIN = ModeKeys.TRAIN


@dataclasses.dataclass
class TrainGraph:
    """A built TRAIN graph and the handles the outer loop drives."""

    graph: tf.Graph
    loop: Loop
    sources: list[InputSource]
    scaffold: v1.train.Scaffold
    spec_hooks: tuple
    global_step: tf.Variable
    replication: Replication
    specs: list = dataclasses.field(default_factory=list)
    init_ops: list = dataclasses.field(default_factory=list)  # run once per new session
    warm_started: checkpoints.WarmStarted | None = None
    in_loop: bool = True  # False: model_fn at the top level, one session.run per step
    # model_fn tensors hooks fetch -> their loop outputs (tensor.ref() keys; in-graph loop).
    hook_outputs: dict = dataclasses.field(default_factory=dict)


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


def _create_global_step() -> tf.Variable:
    """The global step as the original TPUEstimator made it: an int64 resource variable.

    A resource variable also under `disable_v2_behavior()`: a ref variable's reads inside the
    in-graph loop would all see its value at the start of the loop.
    """
    return v1.get_variable(
        v1.GraphKeys.GLOBAL_STEP,
        shape=[],
        dtype=tf.int64,
        initializer=v1.zeros_initializer(),
        trainable=False,
        use_resource=True,
        collections=[v1.GraphKeys.GLOBAL_VARIABLES, v1.GraphKeys.GLOBAL_STEP],
    )


# TensorFlow's own errors for what cannot be built inside a loop body (v2 and v1 control flow).
_LOOP_ERRORS = (
    "could not be lifted out of",
    "inside a control-flow",
    "is in a while loop",
    "from inside a control-flow construct",
)


def build_train_graph(
    ctx: EngineContext, input_fn, warm_start: bool, hooks: Sequence = ()
) -> TrainGraph:
    """Calls input_fn and model_fn in a new graph: model_fn inside the in-graph loop when it
    fits there, else (off TPU) at the top level of the graph, one session.run per step.

    `hooks` (the caller's) are searched for model_fn tensors to carry out of the loop.
    """
    if not ctx.in_graph_loop:
        return _build(ctx, input_fn, warm_start, in_loop=False, hooks=hooks)
    try:
        return _build(ctx, input_fn, warm_start, in_loop=True, hooks=hooks)
    except LoopBlocked as blocked:
        cause, remedy = blocked.cause, blocked.remedy
    except ValueError as e:
        if not any(text in str(e) for text in _LOOP_ERRORS):
            raise
        first = str(e).strip().splitlines()[0]
        cause = f"TensorFlow cannot build model_fn inside a loop ({first})"
        remedy = "create variables with initializers and lookup tables in input_fn"
    if ctx.on_tpu(TRAIN):
        raise ValueError(
            f"on TPU, model_fn must fit the in-graph training loop, but {cause}: {remedy}"
        )
    log.info(
        "model_fn runs at the top level of the graph, one session.run per step (hooks still "
        "run once per iterations_per_loop), because %s; to train in the in-graph loop, %s",
        cause,
        remedy,
    )
    return _build(ctx, input_fn, warm_start, in_loop=False, hooks=hooks)


def _held_tensors(holders, made_here: set[str], depth: int = 3) -> list[tf.Tensor]:
    """Tensors made by this step that `holders` (hooks) keep in their attributes, containers
    and attributes' attributes: what a hook's before_run can ask for."""
    found: dict = {}
    seen: set[int] = set()

    def visit(value, level):
        if id(value) in seen or level < 0:
            return
        seen.add(id(value))
        if isinstance(value, tf.Tensor):
            if value.op.name in made_here:
                found.setdefault(value.ref(), value)
        elif isinstance(value, dict):
            for item in value.values():
                visit(item, level - 1)
        elif isinstance(value, (list, tuple, set)):
            for item in value:
                visit(item, level - 1)
        elif hasattr(value, "__dict__") and not isinstance(value, (type, tf.Graph)):
            for item in vars(value).values():
                visit(item, level - 1)

    for holder in holders:
        visit(holder, depth)
    return list(found.values())


def _build(ctx: EngineContext, input_fn, warm_start: bool, in_loop: bool, hooks=()) -> TrainGraph:
    """One build: model_fn is called once, host_call's and the hooks' tensors are carried out
    of the loop whatever their types."""
    with mode_graph(ctx, TRAIN, session_config(ctx.config), _create_global_step) as mg:
        graph, replication, global_step = mg.graph, mg.replication, mg.global_step
        sources = [
            make_input_source(ctx.call_input_fn(input_fn, TRAIN, invocation=i), TRAIN)
            for i in range(1 if ctx.per_host_input else replication.num_local)
        ]
        calls = iter(range(10**9))

        def get_next():
            # Per-host input: one source; per-shard input: the next source on each call.
            return sources[next(calls) % len(sources)].get_next()

        specs, step_graphs, hook_tensors, host_count = [], [], [], []
        order_sources = step_order.global_step_sources(
            global_step, getattr(replication, "strategy", None)
        )
        # Tensors on TPU cores cannot leave tpu.replicate except as its outputs.
        carry_hooks = in_loop and not isinstance(replication, TPUReplicated)

        def step_fn(dep):
            step_graph = v1.get_default_graph()
            first_op = len(step_graph.get_operations())
            lifting = loop_fit.lifting_initial_values() if in_loop else contextlib.nullcontext()
            with lifting:
                spec, train_op, loss, host = replication.train_step(
                    get_next, mg.call_model_fn, dep, _host_call_tensors
                )
            specs.append(spec)
            step_graphs.append(step_graph)
            made = step_graph.get_operations()[first_op:]
            step_order.order_global_step_reads(made, order_sources)
            if carry_hooks:
                held = _held_tensors(
                    [*hooks_of(spec, TRAIN, ctx.config.is_chief), *hooks],
                    {op.name for op in made},
                )
                # The loss leaves the loop anyway (as the mean over replicas).
                hook_tensors.extend(t for t in held if t is not spec.loss)
            host_count.append(len(host))
            return train_op, loss, [*host, *hook_tensors]

        known = set(map(id, v1.get_collection(v1.GraphKeys.SUMMARIES)))
        if in_loop:
            with replication.loop_building():
                loop = build_in_graph_loop(step_fn, global_step)
            loop_fit.check_fits_loop(graph, [g for g in step_graphs if g is not graph])
            carried = loop.outputs.pop("carried")
            spec = specs[0]
            host = carried[: host_count[0]]
            if host:
                # Runs on the host after each loop, on the last step's tensors from every shard.
                loop.outputs["host_call"] = _call_host_fn(spec, host)
            hook_outputs = {t.ref(): out for t, out in zip(hook_tensors, carried[host_count[0] :])}
            hook_outputs[spec.loss.ref()] = loop.outputs["loss"]
        else:
            train_op, loss, host = step_fn(tf.no_op())
            summaries = [
                s
                for s in v1.get_collection(v1.GraphKeys.SUMMARIES)
                if id(s) not in known and "replica_" not in s.name
            ]
            spec = specs[0]
            host_call = _call_host_fn(spec, host) if host else None
            loop = build_per_step_loop(train_op, loss, global_step, summaries, host_call)
            hook_outputs = {}
        init_ops = list(replication.init_ops())
        # tf.summary writers created in graph mode (host_call's, or model_fn's at the top level)
        # register their init ops here; TF has no public getter outside a default-writer context.
        writer_inits = graph.get_collection("_SUMMARY_WRITER_V2")
        init_ops += writer_inits
        if writer_inits:
            # Flushed after every loop, so tf.summary events reach disk as training goes.
            last = [loop.outputs.get("host_call", loop.outputs["loss"])]
            with tf.control_dependencies(last):
                loop.outputs["flush_writers"] = tf.group(
                    *[tf.raw_ops.FlushSummaryWriter(writer=op.inputs[0]) for op in writer_inits]
                )
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
        in_loop=in_loop,
        hook_outputs=hook_outputs,
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


def hook_fetches_after_loop(tg: TrainGraph) -> Callable[[object], object]:
    """For HookedSession: what a hook's fetch becomes on the in-graph loop.

    A read of the global step becomes the loop's post-loop step (a plain read fetched beside
    the loop may run before the loop's updates and show the previous loop's step:
    StopAtStepHook would then stop a loop late, StepCounterHook would lag). A model_fn tensor
    becomes its value at the loop's last step, carried out of the loop.
    """
    after = tg.loop.outputs["global_step"]

    def substitute(value):
        if _reads_global_step(value, tg):
            return after
        return _loop_output(value, tg, "a hook")

    return substitute


def _loop_output(value, tg: TrainGraph, who: str):
    if not isinstance(value, tf.Tensor):
        return value
    out = tg.hook_outputs.get(value.ref())
    if out is not None:
        return out
    if value.graph is not tg.graph:
        raise ValueError(
            f"{who} fetches {value.name}, which is computed inside the iterations_per_loop "
            "loop but was not found in any hook's attributes when the loop was built; keep "
            "the tensor in the hook (e.g. pass it to its constructor), or fetch the loss, the "
            "global step or a tensor built outside model_fn"
        )
    return value


def point_at_loop_outputs(hook, tg: TrainGraph) -> None:
    """Lets a LoggingTensorHook log model_fn tensors across host loops: its begin() needs
    tensors of the top-level graph, so they are replaced by their loop outputs up front."""
    tensors = getattr(hook, "_tensors", None)
    if not isinstance(hook, v1.train.LoggingTensorHook) or not isinstance(tensors, dict):
        return
    for tag, tensor in list(tensors.items()):
        tensors[tag] = _loop_output(tensor, tg, f"LoggingTensorHook tensor {tag!r}")
