"""Keras 3 layer updates in a TRAIN model_fn: state assigns nothing runs, wired into the train_op.

In a TF1 graph a Keras 3 layer's state update (BatchNormalization's moving statistics, a
SeedGenerator's state) is an assign op that nothing depends on: Keras 3 has no `layer.updates`
and adds nothing to UPDATE_OPS, so the op would never run and evaluation, prediction and export
would use the initial statistics. The original's Keras 2 layers handed these ops to the user
(`layer.updates`, UPDATE_OPS for tf.compat.v1 layers); here the engine finds the assigns
model_fn created that nothing depends on, to non-trainable variables, and runs them with each
step. With the legacy Keras (TF_USE_LEGACY_KERAS=1) or tf.compat.v1 layers the user wires
updates as in the original, so nothing changes.
"""

from __future__ import annotations

import logging
import os
import sys

import tensorflow as tf

log = logging.getLogger("estimator_core")
v1 = tf.compat.v1

_ASSIGNS = {"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp"}


def keras3_loaded() -> bool:
    """Keras 3 is what `tf.keras` gives (it is imported and the legacy switch is off)."""
    if os.environ.get("TF_USE_LEGACY_KERAS") == "1" or "keras" not in sys.modules:
        return False
    version = getattr(sys.modules["keras"], "__version__", "3")
    return not version.startswith("2.")


def _unused(op: tf.Operation) -> bool:
    """Nothing depends on `op`, except reads of the value it wrote that nothing uses either."""
    if any(t.consumers() for t in op.outputs):
        return False
    for after in op._control_outputs:  # noqa: SLF001 (TF has no public reverse edge for these)
        if after.type != "ReadVariableOp" or after._control_outputs:  # noqa: SLF001
            return False
        if any(t.consumers() for t in after.outputs):
            return False
    return True


def _variables_by_handle(graph: tf.Graph, *keys: str) -> dict[str, tf.Variable]:
    """Resource variables in the `keys` collections by their handle op's name (ref variables,
    made after disable_v2_behavior(), have no handle and no Keras 3 updates)."""
    variables = [v for key in keys for v in graph.get_collection(key)]
    return {v.handle.op.name: v for v in variables if getattr(v, "handle", None) is not None}


def unrun_updates(made: list[tf.Operation], graph: tf.Graph) -> list[tf.Operation]:
    """The assigns among `made` (ops model_fn created) to non-trainable variables of `graph`
    that nothing depends on and that are not initializers or UPDATE_OPS entries."""
    from estimator_core.step_order import handle_source

    keys = v1.GraphKeys
    by_handle = _variables_by_handle(graph, keys.GLOBAL_VARIABLES, keys.LOCAL_VARIABLES)
    trainable = set(_variables_by_handle(graph, keys.TRAINABLE_VARIABLES))
    initializers = {id(v.initializer) for v in by_handle.values()}
    wired = {id(op) for op in graph.get_collection(v1.GraphKeys.UPDATE_OPS)}
    updates = []
    for op in made:
        if op.type not in _ASSIGNS or id(op) in initializers or id(op) in wired:
            continue
        source = handle_source(op.inputs[0], op.graph)
        if source in by_handle and source not in trainable and _unused(op):
            updates.append(op)
    return updates


def wire_layer_updates(spec, made: list[tf.Operation], graph: tf.Graph):
    """`spec` with its train_op also running model_fn's unrun Keras 3 state updates."""
    if spec.train_op is None or not keras3_loaded():
        return spec
    updates = unrun_updates(made, graph)
    if not updates:
        return spec
    from estimator_core.step_order import handle_source

    names = sorted({handle_source(op.inputs[0], op.graph) for op in updates})
    log.info(
        "running %d Keras layer state update(s) with each training step (Keras 3 has no "
        "layer.updates; nothing else would run them): %s",
        len(updates),
        ", ".join(names),
    )
    return spec._replace(train_op=tf.group(spec.train_op, *updates))
