"""Checkpoints in model_dir: the saver, finding the latest, reading variables, warm starting."""

from __future__ import annotations

import dataclasses
import logging
import os
import re

import tensorflow as tf

from estimator_core.config import WarmStartSettings

log = logging.getLogger("estimator_core")
v1 = tf.compat.v1

_STEP = re.compile(r"-(\d+)$")


def new_saver(config) -> v1.train.Saver:
    """The standard Saver: model.ckpt-<step>, keep_checkpoint_max kept, relative paths."""
    return v1.train.Saver(
        sharded=True,
        max_to_keep=config.keep_checkpoint_max,
        keep_checkpoint_every_n_hours=config.keep_checkpoint_every_n_hours,
        save_relative_paths=True,
    )


def latest_checkpoint(model_dir: str) -> str | None:
    """The newest checkpoint prefix in model_dir, or None."""
    if not model_dir or not tf.io.gfile.exists(model_dir):
        return None
    return tf.train.latest_checkpoint(model_dir)


def restore_candidates(model_dir: str) -> list[str]:
    """Checkpoints to resume from, newest first: the latest, then the older ones still kept.

    Training falls back along this list when a checkpoint cannot be read (e.g. a truncated
    data file after a crash), so a damaged newest checkpoint costs one interval, not the run.
    """
    latest = latest_checkpoint(model_dir)
    if latest is None:
        return []
    # get_checkpoint_state has already joined model_dir onto the relative paths the Saver
    # records, as latest_checkpoint has: joining again broke every relative model_dir.
    state = tf.train.get_checkpoint_state(model_dir)
    older = list(reversed(state.all_model_checkpoint_paths)) if state else []
    candidates = [latest] + [p for p in older if p != latest]
    return [p for p in candidates if tf.io.gfile.exists(p + ".index")]


class CheckpointError(RuntimeError):
    """A checkpoint could not be read: truncated, missing or unreadable files, or not matching
    the graph. The message names the checkpoint, the damaged file when one is found, and the
    reason TensorFlow gave."""

    def __init__(self, path: str, cause: Exception):
        self.path = path
        self.reason = _restore_reason(cause)
        try:
            damaged = _damaged_file(path)
        except Exception:  # noqa: BLE001 - the diagnosis must never hide the restore error
            damaged = None
        where = ""
        if damaged and damaged[0] not in self.reason:
            where = f"{damaged[0]}: {damaged[1]}; "
        super().__init__(f"cannot restore checkpoint {path}: {where}{self.reason}")


# A graph TensorFlow cannot run on these devices fails at its first session.run, which is the
# restore: such an error says nothing about the checkpoint.
_GRAPH_ERRORS = ("No OpKernel was registered", "Cannot assign a device for operation")


def is_graph_error(error: Exception) -> bool:
    """Whether a failed restore failed because the graph cannot run here (an op without a kernel
    on this device, e.g. a TPU-only CrossReplicaSum on CPU), not because of the checkpoint."""
    return any(text in str(error) for text in _GRAPH_ERRORS)


def _restore_reason(error: Exception) -> str:
    """The cause in a restore error, with its type. TF 2.21's graph errors open with a generic
    'Graph execution error:' and put the cause after the failing node's 'Node: ...' line."""
    text = str(getattr(error, "message", None) or error)
    text = text.split("\n\nOriginal stack trace", 1)[0]
    lines = [line.strip() for line in text.splitlines()]
    nodes = [i for i, line in enumerate(lines) if line.startswith("Node: ")]
    if nodes:
        lines = lines[nodes[-1] + 1 :]
    cause = [line for line in lines if line and not line.startswith("[[")]
    cause = [line for line in cause if line != "Graph execution error:"]
    reason = "; ".join(cause) or "no reason given"
    hint = ""
    if "Key " in reason and "not found in checkpoint" in reason:
        hint = " (the graph has a variable the checkpoint lacks: a changed model_fn?)"
    return f"{type(error).__name__}: {reason}{hint}"


def _damaged_file(prefix: str) -> tuple[str, str] | None:
    """(file, what is wrong) for the first of a checkpoint's files that cannot be read or is
    shorter than its index says, or None when all look whole."""
    index = prefix + ".index"
    try:
        reader = tf.train.load_checkpoint(prefix)
    except (tf.errors.OpError, ValueError):
        return index, "not a readable checkpoint index"
    data = sorted(tf.io.gfile.glob(prefix + ".data-*"))
    for path in data:
        try:
            with tf.io.gfile.GFile(path, "rb") as f:
                f.read(1)
        except (tf.errors.OpError, OSError):
            return path, "cannot be read"
    shapes, dtypes = reader.get_variable_to_shape_map(), reader.get_variable_to_dtype_map()
    if any(dtype == tf.string for dtype in dtypes.values()):
        return None  # string tensors have no fixed size to check against
    listed = sum(tf.TensorShape(shapes[n]).num_elements() * dtypes[n].size for n in shapes)
    held = sum(tf.io.gfile.stat(path).length for path in data)
    if held < listed:
        return " + ".join(data), f"truncated: {held} bytes where the index lists {listed}"
    return None


def global_step_of(checkpoint_path: str) -> int:
    """The global step stored in a checkpoint (0 if it has none)."""
    reader = tf.train.load_checkpoint(checkpoint_path)
    if reader.has_tensor(v1.GraphKeys.GLOBAL_STEP):
        return int(reader.get_tensor(v1.GraphKeys.GLOBAL_STEP))
    match = _STEP.search(checkpoint_path)
    return int(match.group(1)) if match else 0


def require_checkpoint(model_dir: str, checkpoint_path: str | None) -> str:
    """checkpoint_path if it exists, else model_dir's latest; ValueError naming what is missing."""
    if checkpoint_path:
        if os.path.isdir(checkpoint_path) or checkpoint_path.endswith("/"):
            found = latest_checkpoint(checkpoint_path)
            if found is None:
                raise ValueError(f"no checkpoint found in checkpoint_path {checkpoint_path}")
            return found
        if not tf.io.gfile.glob(checkpoint_path + ".index"):
            raise ValueError(f"checkpoint_path {checkpoint_path} does not exist (no .index file)")
        return checkpoint_path
    found = latest_checkpoint(model_dir)
    if found is None:
        raise ValueError(
            f"could not find a trained model in model_dir {model_dir}: train first or pass "
            "checkpoint_path"
        )
    return found


def resolve_warm_start(warm_start_from) -> WarmStartSettings | None:
    """Normalizes warm_start_from (a path, a model_dir, or WarmStartSettings)."""
    if warm_start_from is None:
        return None
    if isinstance(warm_start_from, WarmStartSettings):
        return warm_start_from
    if isinstance(warm_start_from, (str, os.PathLike)):
        return WarmStartSettings(ckpt_to_initialize_from=os.fspath(warm_start_from))
    raise ValueError(
        f"warm_start_from must be a checkpoint path, a model_dir or WarmStartSettings, got "
        f"{warm_start_from!r}"
    )


@dataclasses.dataclass(frozen=True)
class WarmStarted:
    """What a warm start did: the checkpoint read, the variables it initializes, and the
    selected ones it had no value for (those are freshly initialized)."""

    source: str
    variables: tuple[str, ...]
    missing: tuple[str, ...] = ()


def apply_warm_start(settings: WarmStartSettings) -> WarmStarted | None:
    """Rewires matching variables' initializers to read from the warm-start checkpoint.

    Returns what was warm-started (None when nothing was). With `fail_on_unmatched`, raises
    ValueError naming every selection that finds nothing: a list entry or regex matching no
    variable, or a selected variable the checkpoint has no value for.
    """
    source = settings.ckpt_to_initialize_from
    ckpt = latest_checkpoint(source) if tf.io.gfile.isdir(source) else source
    if ckpt is None or not tf.io.gfile.glob(ckpt + ".index"):
        raise ValueError(f"warm_start_from {source}: no checkpoint found there")
    available = set(dict(tf.train.list_variables(ckpt)))
    pattern = settings.vars_to_warm_start
    # As tf.estimator did: a regex selects among trainable variables, a list among all of them.
    is_list = isinstance(pattern, (list, tuple))
    collection = v1.global_variables() if is_list else v1.trainable_variables()
    candidates = [v for v in collection if v.op.name != v1.GraphKeys.GLOBAL_STEP]
    patterns = list(pattern) if is_list else [pattern or ".*"]
    chosen = [v for v in candidates if any(re.match(p, v.op.name) for p in patterns)]
    matched = [v for v in chosen if v.op.name in available]
    unmatched = [v.op.name for v in chosen if v.op.name not in available]
    if settings.fail_on_unmatched:
        problems = []
        empty = [p for p in patterns if not any(re.match(p, v.op.name) for v in candidates)]
        if empty:
            what = "entries" if is_list else "pattern"
            problems.append(f"vars_to_warm_start {what} {empty} matched no variable")
        if unmatched:
            problems.append(f"no value for variables {unmatched}")
        if problems:
            raise ValueError(f"warm_start_from {ckpt}: " + "; ".join(problems))
    if not matched:
        log.warning("warm_start_from %s: no variable matched %r", ckpt, pattern)
        return None
    v1.train.init_from_checkpoint(ckpt, {v.op.name: v for v in matched})
    return WarmStarted(ckpt, tuple(v.op.name for v in matched), tuple(unmatched))


def _restore_feeding(op, depth: int = 4):
    """The RestoreV2 op an initializer assigns from (through identities), or None."""
    for tensor in op.inputs:
        if tensor.op.type in ("RestoreV2", "Restore"):
            return tensor.op
        if depth and tensor.op.type in ("Identity", "Reshape", "Cast"):
            found = _restore_feeding(tensor.op, depth - 1)
            if found is not None:
                return found
    return None


def checkpoint_initialized(variables) -> dict[str, str]:
    """{variable name: checkpoint} for variables whose initializer restores from a checkpoint:
    what tf.compat.v1.train.init_from_checkpoint wired, in model_fn, scaffold_fn or a warm start.
    """
    found = {}
    for variable in variables:
        parts = getattr(variable, "values", None)  # a mirrored variable: its first copy
        initializer = getattr(parts[0] if parts else variable, "initializer", None)
        if isinstance(initializer, tf.Tensor):  # a ref variable's assign
            initializer = initializer.op
        if initializer is None:
            continue
        restore = _restore_feeding(initializer)
        if restore is not None:
            prefix = tf.get_static_value(restore.inputs[0])
            if hasattr(prefix, "item"):  # a 0-d array of bytes
                prefix = prefix.item()
            if isinstance(prefix, bytes):
                prefix = prefix.decode()
            found[variable.op.name] = str(prefix) if prefix is not None else "a checkpoint"
    return found


def variable_names(model_dir: str) -> list[str]:
    ckpt = latest_checkpoint(model_dir)
    if ckpt is None:
        raise ValueError(f"no checkpoint in model_dir {model_dir}: train first")
    return [name for name, _ in tf.train.list_variables(ckpt)]


def variable_value(model_dir: str, name):
    ckpt = latest_checkpoint(model_dir)
    if ckpt is None:
        raise ValueError(f"no checkpoint in model_dir {model_dir}: train first")
    reader = tf.train.load_checkpoint(ckpt)
    names = [name] if isinstance(name, str) else list(name)
    for n in names:
        if not reader.has_tensor(n):
            raise ValueError(f"variable {n!r} is not in checkpoint {ckpt}")
    values = [reader.get_tensor(n) for n in names]
    return values[0] if isinstance(name, str) else values
