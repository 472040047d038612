"""Checkpoints as the steps find and identify them: the latest in a directory, and a digest of its weights.

The trainer writes checkpoints into a model dir (or a durable checkpoint dir), the evaluator
blesses one, and the exporter pushes one; the digest ties the last two to the same weights.
"""

from __future__ import annotations

import hashlib
import logging
import posixpath

import tensorflow as tf

log = logging.getLogger("tpuest.checkpoints")
_CHUNK = 1 << 20


def _same_dir(a: str, b: str) -> bool:
    from components.files import abspath

    return abspath(a).rstrip("/") == abspath(b).rstrip("/")


def latest(directory: str) -> str | None:
    """The newest checkpoint prefix in `directory` (None when there is none).

    A `checkpoint` state file may name a checkpoint in another directory (a copied or moved
    model dir, or an edited file): the checkpoint of that name in `directory` is used
    instead, so a step never reads weights from outside the directory it was given.

    Raises:
        FileNotFoundError: the state file names a checkpoint outside `directory` that
            `directory` does not hold.
    """
    if not directory or not tf.io.gfile.exists(directory):
        return None
    found = tf.train.latest_checkpoint(directory)
    if found is None or _same_dir(posixpath.dirname(found), directory):
        return found
    here = f"{directory.rstrip('/')}/{posixpath.basename(found)}"
    if not tf.io.gfile.exists(here + ".index"):
        raise FileNotFoundError(
            f"{directory}/checkpoint names {found}, outside {directory}, and {directory} has no "
            f"{posixpath.basename(found)}: refusing to use another directory's weights"
        )
    log.warning("%s/checkpoint names %s; using %s", directory, found, here)
    return here


def step_of(checkpoint: str | None) -> int:
    """The global step stored in a checkpoint (0 for None)."""
    if checkpoint is None:
        return 0
    from estimator_core.checkpoints import global_step_of

    return global_step_of(checkpoint)


def files_of(checkpoint: str) -> list[str]:
    """The checkpoint's .index and .data-* files, sorted."""
    index = checkpoint + ".index"
    if not tf.io.gfile.exists(index):
        raise FileNotFoundError(f"checkpoint {checkpoint} does not exist (no {index})")
    return [index, *sorted(tf.io.gfile.glob(checkpoint + ".data-*"))]


def digest(checkpoint: str) -> str:
    """sha256 over the checkpoint's files (names relative to the prefix, then the bytes).

    Two checkpoints with the same digest hold the same weights, wherever they are stored and
    whatever their names.
    """
    h = hashlib.sha256()
    for path in files_of(checkpoint):
        h.update(path[len(checkpoint) :].encode() + b"\0")
        with tf.io.gfile.GFile(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                h.update(chunk)
    return h.hexdigest()
