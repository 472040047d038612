"""Whether model_fn can live inside the in-graph training loop, and lifting what can be lifted.

Inside a `tf.while_loop` body nothing can run once per session: a variable's initial value
computed there, a lookup table's initializer, a summary writer's creation, the restore ops
`tf.compat.v1.train.init_from_checkpoint` wires into initializers. The original TPUEstimator
built model_fn at the top level of the graph off TPU, where all of these work. The engine builds
model_fn inside the loop first; an initial value that is an exact constant is lifted out of the
loop (it is the same value wherever it is computed), anything else is a `LoopBlocked` naming the
cause, and training then builds model_fn at the top level instead (one session.run per step).
"""

from __future__ import annotations

import collections
import contextlib

import tensorflow as tf

v1 = tf.compat.v1

# Op types that must run once per session (resource creation and initialization).
_ONCE_PER_SESSION = {
    "CreateSummaryFileWriter": "a summary writer",
    "CreateSummaryDbWriter": "a summary writer",
    "InitializeTableV2": "a lookup table",
    "InitializeTableFromTextFileV2": "a lookup table",
    "LookupTableImportV2": "a lookup table",
    "InitializeTable": "a lookup table",
    "InitializeTableFromTextFile": "a lookup table",
}
# Ops that make a tensor flow from outside a v1 while loop into it.
_LOOP_ENTRY = {"Enter", "RefEnter"}


class LoopBlocked(Exception):
    """model_fn builds something that cannot live inside the in-graph loop.

    `cause` names it (the variable, table, writer or op) and `remedy` says how to get the loop
    back.
    """

    def __init__(self, cause: str, remedy: str):
        self.cause = cause
        self.remedy = remedy
        super().__init__(f"{cause}; {remedy}")


_INITIAL_VALUE_REMEDY = (
    "give it an initializer TensorFlow calls where it creates the variable, e.g. "
    "tf.compat.v1.get_variable(name, shape, initializer=tf.compat.v1.random_normal_initializer()) "
    "or tf.Variable(lambda: ...)"
)


def _lifted(next_creator, **kwargs):
    initial_value = kwargs.get("initial_value")
    if isinstance(initial_value, tf.Tensor):
        value = tf.get_static_value(initial_value)
        name = kwargs.get("name") or initial_value.op.name
        if value is None:
            raise LoopBlocked(
                f"variable {name!r} takes its initial value from {initial_value.op.type} op "
                f"{initial_value.op.name!r} computed inside model_fn",
                _INITIAL_VALUE_REMEDY,
            )
        # An exact constant: created where TensorFlow creates initializers (outside the loop).
        kwargs["initial_value"] = lambda: tf.constant(value, dtype=initial_value.dtype)
        if kwargs.get("dtype") is None:
            kwargs["dtype"] = initial_value.dtype
    return next_creator(**kwargs)


@contextlib.contextmanager
def lifting_initial_values():
    """While building model_fn in the loop: lift constant initial values, refuse the others."""
    with tf.variable_creator_scope(_lifted):
        yield


def _inside(op: tf.Operation, graph: tf.Graph) -> bool:
    """True when `op` lives in the loop: in a loop body graph (control flow v2) or fed, through
    its inputs, from a v1 while loop's Enter ops."""
    if op.graph is not graph:
        return True
    seen, queue = set(), collections.deque([op])
    while queue:
        current = queue.popleft()
        if current.type in _LOOP_ENTRY:
            return True
        for parent in [t.op for t in current.inputs] + list(current.control_inputs):
            if parent.name not in seen:
                seen.add(parent.name)
                queue.append(parent)
    return False


def _restores_from_checkpoint(op: tf.Operation) -> bool:
    from estimator_core.checkpoints import _restore_feeding

    return _restore_feeding(op) is not None


def check_fits_loop(graph: tf.Graph, body_graphs) -> None:
    """After building model_fn in the loop: raises LoopBlocked naming the first thing in it that
    must run once per session (a variable initializer, a table, a summary writer)."""
    for variable in graph.get_collection(v1.GraphKeys.GLOBAL_VARIABLES) + graph.get_collection(
        v1.GraphKeys.LOCAL_VARIABLES
    ):
        initializer = getattr(variable, "initializer", None)
        if isinstance(initializer, tf.Tensor):  # a ref variable's assign
            initializer = initializer.op
        if initializer is None or not _inside(initializer, graph):
            continue
        name = variable.op.name
        if _restores_from_checkpoint(initializer):
            raise LoopBlocked(
                f"tf.compat.v1.train.init_from_checkpoint in model_fn initializes variable "
                f"{name!r} from a checkpoint",
                "call it in TPUEstimatorSpec.scaffold_fn (as TPU code must) or pass "
                "warm_start_from to TPUEstimator",
            )
        raise LoopBlocked(
            f"variable {name!r} has an initializer built inside model_fn", _INITIAL_VALUE_REMEDY
        )
    for g in [graph, *body_graphs]:
        for op in g.get_operations():
            what = _ONCE_PER_SESSION.get(op.type)
            if what is not None and _inside(op, graph):
                raise LoopBlocked(
                    f"model_fn creates {what} ({op.name})",
                    "create lookup tables in input_fn and summary writers in host_call, or use "
                    "table-free ops (e.g. tf.argmax(tf.equal(values[:, None], vocabulary), 1))",
                )
