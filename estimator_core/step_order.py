"""Within one training step, every read of the global step runs before the step's increment.

A BERT-style train_op, `tf.group(optimizer.apply_gradients(...), global_step.assign(global_step +
1))` with a learning rate computed from the global step, leaves the reads and the increment
unordered: which value a read sees depends on thread scheduling, so runs with one seed differ.
The engine orders them: each write to the global step made in a step waits for every read of it
made in the same step, unless the read itself was made to wait for that write (a read the user
put after the update with control dependencies keeps seeing the new value).
"""

from __future__ import annotations

import collections

import tensorflow as tf

_WRITES = {
    "AssignVariableOp",
    "AssignAddVariableOp",
    "AssignSubVariableOp",
    "Assign",
    "AssignAdd",
    "AssignSub",
}
# Ops a variable handle passes through unchanged on its way into a loop body.
_PASS_THROUGH = {"Enter", "RefEnter", "Identity", "RefIdentity"}


def _capture_map(graph) -> dict:
    """A body graph's captured placeholders -> the outer tensors they stand for."""
    captures = getattr(graph, "captures", None) or ()
    return {internal.name: external for external, internal in captures}


def _handle_source(tensor: tf.Tensor, captures: dict) -> str | None:
    """The name of the variable op a handle (or ref) input comes from."""
    for _ in range(64):
        op = tensor.op
        if op.type in _PASS_THROUGH and op.inputs:
            tensor = op.inputs[0]
        elif op.type == "Placeholder" and tensor.name in captures:
            tensor = captures[tensor.name]
        else:
            return op.name
    return None


def handle_source(tensor: tf.Tensor, graph) -> str | None:
    """The name of the variable op a handle input in `graph` (a body graph too) comes from."""
    return _handle_source(tensor, _capture_map(graph))


def global_step_sources(global_step, strategy=None) -> set[str]:
    """Names of the variable ops holding the global step (one per replica when mirrored)."""
    parts = strategy.experimental_local_results(global_step) if strategy else [global_step]
    names = set()
    for part in parts:
        handle = getattr(part, "handle", None)
        names.add((handle if handle is not None else part).op.name)
    return names


def _ancestors(op: tf.Operation, limit: set[str]) -> set[str]:
    seen, queue = set(), collections.deque([op])
    while queue:
        current = queue.popleft()
        for parent in [t.op for t in current.inputs] + list(current.control_inputs):
            if parent.name in limit and parent.name not in seen:
                seen.add(parent.name)
                queue.append(parent)
    return seen


def order_global_step_reads(step_ops: list[tf.Operation], sources: set[str]) -> int:
    """Makes each write of the global step among `step_ops` wait for every read of it there.

    Returns how many orderings were added. TensorFlow has no public API to add a control input
    to an existing op; `_add_control_inputs` is what its own graph rewrites use.
    """
    by_graph: dict = collections.defaultdict(list)
    for op in step_ops:
        by_graph[op.graph].append(op)
    added = 0
    for graph, ops in by_graph.items():
        captures = _capture_map(graph)
        reads, writes = [], []
        for op in ops:
            if not op.inputs or _handle_source(op.inputs[0], captures) not in sources:
                continue
            (writes if op.type in _WRITES else reads).append(op)
        if not reads or not writes:
            continue
        names = {op.name for op in ops}
        for write in writes:
            upstream = _ancestors(write, names)
            pending = []
            for read in reads:
                if read.name in upstream:
                    continue
                if write.name in _ancestors(read, names):
                    continue  # this read was put after the write on purpose
                pending.append(read)
            if pending:
                write._add_control_inputs(pending)  # noqa: SLF001
                added += len(pending)
    return added
