"""The in-graph training loop: `iterations` steps inside one session.run (TPUEstimator's host loop)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import tensorflow as tf

v1 = tf.compat.v1

# A step builds one training step in the loop body and returns (train_op, loss, tensors to carry
# out of the loop).
# Its argument is the loop-carried tensor every op of the step must depend on.
StepFn = Callable[[tf.Tensor], tuple[tf.Operation, tf.Tensor, list]]


@dataclasses.dataclass(frozen=True)
class TrainLoop:
    """Handles to one in-graph loop: set its size with `resize`, fetch `outputs`.

    outputs: `loss` of the last step run, `steps` run, `finite` (False when the loop stopped
    on a NaN/Inf loss), `summary` (the last step's merged summaries, b'' if none),
    `global_step` read after the loop and `carried` (the step's carried tensors at the last
    step).
    """

    outputs: dict[str, tf.Tensor]
    new_iterations: tf.Tensor  # fed to `resize_op`
    resize_op: tf.Operation

    def resize(self, session, iterations: int) -> None:
        """Sets the steps per loop. A variable rather than a feed: runs without feeds take
        Session.make_callable's fast path, which matters when loops are short."""
        session.run(self.resize_op, {self.new_iterations: iterations})

    def run(self, hooked, options=None) -> dict:
        """Runs one loop through `hooked` (a HookedSession) and returns its outputs."""
        return hooked.run(self.outputs, options=options)


def _pack(tensors: list) -> tf.Tensor:
    """One string vector holding `tensors`: a loop variable whose type never depends on them."""
    return tf.stack([tf.io.serialize_tensor(t) for t in tensors])


def _unpack(packed: tf.Tensor, specs: list[tf.TensorSpec]) -> list[tf.Tensor]:
    unpacked = []
    for k, spec in enumerate(specs):
        value = tf.io.parse_tensor(packed[k], spec.dtype)
        value.set_shape(spec.shape)
        unpacked.append(value)
    return unpacked


def build_train_loop(step_fn: StepFn, global_step: tf.Variable) -> TrainLoop:
    """Builds a tf.while_loop running `step_fn`'s step up to `iterations` times.

    Each iteration's ops (variable reads included) carry a control dependency on the previous
    iteration's outputs, which depend on its train_op: without it, iteration k+1 may read
    weights before iteration k's update lands and train on stale values. The loop also stops
    early at the first non-finite loss so a NaN never spreads past the step that produced it.
    The tensors the step hands out (host_call's, and those hooks fetch) leave the loop as
    outputs["carried"], their values at the loop's last step: they travel serialized in one
    string vector, so model_fn is built once whatever their types.
    """
    iterations = v1.Variable(
        1,
        dtype=tf.int32,
        trainable=False,
        collections=[v1.GraphKeys.LOCAL_VARIABLES],  # never saved in checkpoints
        name="iterations_per_loop",
    )
    new_iterations = v1.placeholder(tf.int32, [], name="new_iterations_per_loop")
    resize_op = iterations.assign(new_iterations).op
    carried_specs: list[tf.TensorSpec] = []

    def cond(i, loss, finite, summary, packed):
        return tf.logical_and(i < iterations, finite)

    def body(i, loss, finite, summary, packed):
        body_graph = tf.compat.v1.get_default_graph()
        # model_fn's names as at the top level: a v1 loop body would prefix them with the
        # loop's name scope (tf.Variable names in checkpoints would then differ).
        with body_graph.name_scope(None), tf.control_dependencies([i, loss, finite, summary]):
            known = set(map(id, v1.get_collection(v1.GraphKeys.SUMMARIES)))
            train_op, step_loss, carried = step_fn(i)
            # Summaries from the first replica only (others live under "replica_<n>/").
            collection = v1.get_collection_ref(v1.GraphKeys.SUMMARIES)
            created = [s for s in collection if id(s) not in known and s.graph is body_graph]
            # They are fetched through the loop's output, never from outside the loop.
            for s in created:
                collection.remove(s)
            new = [s for s in created if "replica_" not in s.name]
            step_summary = v1.summary.merge(new) if new else tf.constant(b"")
        with tf.control_dependencies([train_op]):
            step_loss = tf.cast(tf.identity(step_loss), tf.float32)
            step_finite = tf.math.is_finite(step_loss)
            if carried:
                carried_specs[:] = [tf.TensorSpec(t.shape, t.dtype) for t in carried]
                # Serialized on the loop's last step only (the end, or a non-finite loss).
                last = tf.logical_or(i + 1 >= iterations, tf.logical_not(step_finite))
                packed = tf.cond(last, lambda: _pack(carried), lambda: tf.identity(packed))
            else:
                packed = tf.identity(packed)
            return i + 1, step_loss, step_finite, tf.identity(step_summary), packed

    initial = [
        tf.constant(0),
        tf.constant(0.0),
        tf.constant(True),
        tf.constant(b""),
        tf.zeros([0], tf.string),
    ]
    invariants = [tf.TensorShape([])] * 4 + [tf.TensorShape([None])]
    steps, loss, finite, summary, packed = tf.while_loop(
        cond,
        body,
        initial,
        shape_invariants=invariants,
        name="train_loop",
        parallel_iterations=1,
    )
    with tf.control_dependencies([steps, loss, finite, summary]):
        step_after = tf.identity(
            global_step.read_value() if hasattr(global_step, "read_value") else global_step
        )
    outputs = {
        "steps": steps,
        "loss": loss,
        "finite": finite,
        "summary": summary,
        "global_step": step_after,
        "carried": _unpack(packed, carried_specs),
    }
    return TrainLoop(outputs, new_iterations, resize_op)
