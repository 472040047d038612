"""The training loop's one interface and its two kinds: in-graph (`iterations` steps inside one
session.run, TPUEstimator's host loop) and per step (one session.run per step, the original
Estimator's; also for a model_fn that cannot live inside the in-graph loop, see loop_fit).

The outer loop (training.run_train) drives both alike: `resize` sets the steps of the next loop,
`run` runs them through a HookedSession (hooks around the loop's last step) and returns
`outputs`' values: `loss` of the last step run, `steps` run, `finite` (False when the loop
stopped on a NaN/Inf loss), `summary` (the last step's merged summaries, b'' if none),
`global_step` read after the loop, and `host_call` when the spec has one.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Protocol

import tensorflow as tf

from estimator_core.hooks import NanLossError

v1 = tf.compat.v1

# A step builds one training step in the loop body and returns (train_op, loss, tensors to carry
# out of the loop). Its argument is the loop-carried tensor every op of the step must depend on.
StepFn = Callable[[tf.Tensor], tuple[tf.Operation, tf.Tensor, list]]


class Loop(Protocol):
    """What the outer loop needs of a training loop of either kind."""

    outputs: dict

    def resize(self, session, iterations: int) -> None:
        """Sets how many steps the next `run` runs."""

    def run(self, hooked, options=None) -> dict:
        """Runs one loop through `hooked` (a HookedSession) and returns its outputs' values."""


@dataclasses.dataclass(frozen=True)
class InGraphLoop:
    """A tf.while_loop of `iterations` steps inside one session.run.

    Its `outputs` also hold `carried`, the step's carried tensors at the last step, until the
    builder takes them out.
    """

    outputs: dict[str, tf.Tensor]
    new_iterations: tf.Tensor  # fed to `resize_op`
    resize_op: tf.Operation

    def resize(self, session, iterations: int) -> None:
        """Sets the steps per loop. A variable rather than a feed: runs without feeds take
        Session.make_callable's fast path, which matters when loops are short."""
        session.run(self.resize_op, {self.new_iterations: iterations})

    def run(self, hooked, options=None) -> dict:
        return hooked.run(self.outputs, options=options)


class PerStepLoop:
    """Steps run one session.run each, built at the top level of the graph as the original
    Estimator built them: a "loop" of N steps is N session.runs, hooks run around the last
    one (the first N-1 fetch only the loss and the global step)."""

    def __init__(self, outputs: dict, step_fetches: list):
        self.outputs = outputs
        self._step_fetches = step_fetches  # [loss, global step after the step]
        self._size = 1
        self._callables: dict = {}

    def resize(self, session, iterations: int) -> None:
        self._size = int(iterations)

    def run(self, hooked, options=None) -> dict:
        size = self._size

        def first_steps(feeds):
            session = hooked.session
            if feeds:
                run = lambda: session.run(self._step_fetches, feed_dict=feeds)  # noqa: E731
            else:
                run = self._callables.get(session)
                if run is None:
                    run = self._callables[session] = session.make_callable(self._step_fetches)
            for _ in range(size - 1):
                loss, step = run()
                if not math.isfinite(float(loss)):
                    raise NanLossError(int(step), float(loss))

        out = dict(hooked.run(self.outputs, options=options, before=first_steps))
        out["steps"] = size
        return out


def build_per_step_loop(
    train_op, loss, global_step, summaries: list, host_call=None
) -> PerStepLoop:
    """The handles of one host-driven step: the same outputs as the in-graph loop's."""
    with tf.control_dependencies([train_op]):
        step_loss = tf.cast(tf.identity(loss), tf.float32)
    summary = v1.summary.merge(summaries) if summaries else tf.constant(b"")
    with tf.control_dependencies([step_loss]):
        step_after = tf.identity(global_step.read_value())
    last = [step_loss, summary] + ([host_call] if host_call is not None else [])
    with tf.control_dependencies(last):
        loop_after = tf.identity(global_step.read_value())
    outputs = {
        "steps": tf.constant(1),
        "loss": step_loss,
        "finite": tf.math.is_finite(step_loss),
        "summary": summary,
        "global_step": loop_after,
    }
    if host_call is not None:
        outputs["host_call"] = host_call
    return PerStepLoop(outputs, [step_loss, step_after])


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


def build_in_graph_loop(step_fn: StepFn, global_step: tf.Variable) -> InGraphLoop:
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
    return InGraphLoop(outputs, new_iterations, resize_op)
