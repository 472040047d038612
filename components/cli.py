"""argparse types and the usage error shared by the steps' CLI faces (`register(subparsers)`).

The `tpuest` entry point that gathers them is `pipelines.tpuest`."""

from __future__ import annotations

import argparse
import glob
import json
import os
import shlex


class UsageError(Exception):
    """A bad argument value found after parsing; exits 2 like an argparse error."""


# argparse types shared by the subcommands. argparse reports an ArgumentTypeError as
# "argument --NAME: <message>" and exits 2, before any step's work starts. Paths with a
# scheme (gs://...) pass the path checks unread: the step reports them when it opens them.


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None


def integer(text: str) -> int:
    """argparse type: an int (the step's args dataclass checks its range)."""
    return _int(text)


def number(text: str) -> float:
    """argparse type: a float (the step's args dataclass checks its range)."""
    return _float(text)


def positive_int(text: str) -> int:
    """argparse type: an int > 0 (steps, sizes, counts)."""
    value = _int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be > 0")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an int >= 0."""
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be >= 0")
    return value


def nonempty(text: str) -> str:
    """argparse type: a name that is not empty or blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _local(text: str) -> bool:
    if not text:
        raise argparse.ArgumentTypeError("the path must not be empty")
    return "://" not in text


def existing_dir(text: str) -> str:
    """argparse type: a directory that exists (an input of the step)."""
    if _local(text) and not os.path.isdir(text):
        what = "is not a directory" if os.path.exists(text) else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}")
    return text


def existing_file(text: str) -> str:
    """argparse type: a file that exists."""
    if _local(text) and not os.path.isfile(text):
        what = "is not a file" if os.path.exists(text) else "does not exist"
        raise argparse.ArgumentTypeError(f"{text} {what}")
    return text


def matching_pattern(text: str) -> str:
    """argparse type: a path or glob pattern that matches at least one file."""
    if _local(text) and not glob.glob(text):
        raise argparse.ArgumentTypeError(f"{text!r} matches no file")
    return text


def checkpoint_path(text: str) -> str:
    """argparse type: a checkpoint prefix (PREFIX.index exists) or a directory of checkpoints."""
    if _local(text) and not (os.path.isdir(text) or os.path.isfile(f"{text}.index")):
        raise argparse.ArgumentTypeError(
            f"{text} is neither a directory nor a checkpoint ({text}.index does not exist)"
        )
    return text


def _writable(path: str, *, is_dir: bool) -> str:
    if not _local(path):
        return path
    if os.path.exists(path) and os.path.isdir(path) != is_dir:
        what = "exists and is not a directory" if is_dir else "is a directory, not a file"
        raise argparse.ArgumentTypeError(f"{path} {what}")
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise argparse.ArgumentTypeError(f"{path}: {parent} is a file, not a directory")
    return path


def output_dir(text: str) -> str:
    """argparse type: a directory to write into (absent, or a directory; not under a file)."""
    return _writable(text, is_dir=True)


def output_file(text: str) -> str:
    """argparse type: a file to write (absent, or a file; not a directory)."""
    return _writable(text, is_dir=False)


def beam_flag(text: str) -> str:
    """argparse type: one Beam pipeline flag, like --runner=DataflowRunner."""
    if not text.startswith("--") or len(text) == 2:
        raise argparse.ArgumentTypeError(f"{text!r} is not a flag like --name=value")
    return text


def beam_flags(text: str) -> str:
    """argparse type: Beam pipeline flags in one shell-quoted string ("" = none)."""
    try:
        flags = shlex.split(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}") from None
    for flag in flags:
        beam_flag(flag)
    return text


def key_values(pairs: list[str], option: str) -> dict:
    """['key=value', ...] -> dict; values parsed as JSON when they are JSON, else strings.

    Raises:
        UsageError: an item without '=' or with an empty key (the message names `option`).
    """
    result = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} {pair!r}: expected key=value")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        result[key.strip()] = value
    return result
