"""Training steps run from the host, one session.run each: for a model_fn that cannot live inside
the in-graph loop (see loop_fit), built at the top level of the graph as the original
TPUEstimator built it off TPU.

It offers the same handles as loop.TrainLoop, so the outer loop drives both alike: a "loop" of N
steps is N session.runs, and hooks still run once per loop, around the loop's last step (the
first N-1 steps fetch only the loss and the global step).
"""

from __future__ import annotations

import math

import tensorflow as tf

from estimator_core.hooks import NanLossError

v1 = tf.compat.v1


class StepLoop:
    """Steps run one session.run each; `resize` sets how many make one loop."""

    def __init__(self, outputs: dict, step_fetches: list):
        self.outputs = outputs
        self._step_fetches = step_fetches  # [loss, global step after the step]
        self._size = 1
        self._callables: dict = {}

    def resize(self, session, iterations: int) -> None:
        self._size = int(iterations)

    def run(self, hooked, options=None) -> dict:
        """Runs one loop through `hooked` (a HookedSession) and returns its outputs."""
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


def build_step_outputs(train_op, loss, global_step, summaries: list, host_call=None) -> StepLoop:
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
    return StepLoop(outputs, [step_loss, step_after])
