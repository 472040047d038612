"""Atomic output: write into a temporary sibling directory, then rename it into place."""

from __future__ import annotations

# First: Beam imported through beam_import, which hides its import-time chatter.
from components.prepare import beam_import  # noqa: F401

# isort: split

import os
from collections.abc import Sequence

from apache_beam.io.filesystems import FileSystems

from components.files import temp_sibling


def _is_local(path: str) -> bool:
    return "://" not in path


def _non_empty(path: str) -> bool:
    if _is_local(path):
        return os.path.isdir(path) and bool(os.listdir(path)) or os.path.isfile(path)
    return bool(FileSystems.match([path.rstrip("/") + "/**"])[0].metadata_list)


def _resolved(path: str) -> str:
    return os.path.realpath(path) if _is_local(path) else path.rstrip("/")


def _within(path: str, directory: str) -> bool:
    """Whether `path` is `directory` or below it."""
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def check_output(output_dir: str, inputs: Sequence[str]) -> None:
    """Refuses an output whose replacement would delete what is not prepare's to delete.

    The output is replaced as a whole (with overwrite) or written beside its final name, so
    it must not be an input file or a directory above one, nor the working or the home
    directory or a directory above them.

    Raises:
        ValueError: naming the output and what it would remove.
    """
    out = _resolved(output_dir)
    protected = [(path, f"the input {path}") for path in inputs]
    protected += [
        (os.getcwd(), "the working directory"),
        (os.path.expanduser("~"), "the home directory"),
    ]
    for path, what in protected:
        if _is_local(path) != _is_local(output_dir):
            continue
        if _within(_resolved(path), out):
            relation = "is" if _resolved(path) == out else "contains"
            raise ValueError(
                f"output directory {output_dir} {relation} {what}: prepare replaces its output "
                "directory as a whole; choose a new one (e.g. out/examples)"
            )


def staging_dir(output_dir: str, *, overwrite: bool) -> str:
    """A fresh sibling of `output_dir` to write into, e.g. OUT.tmp-1a2b3c4d.

    Raises:
        FileExistsError: `output_dir` exists and is not empty, and `overwrite` is False.
    """
    output_dir = output_dir.rstrip("/")
    if not overwrite and _non_empty(output_dir):
        raise FileExistsError(
            f"output directory {output_dir} exists and is not empty; "
            "choose another or pass overwrite=True (--overwrite)"
        )
    tmp = temp_sibling(output_dir)
    FileSystems.mkdirs(tmp)
    return tmp


def commit(tmp: str, output_dir: str) -> None:
    """Moves `tmp` to `output_dir`, replacing what is there.

    Local directories move with one rename, so OUT appears complete or not at all. Object
    stores (gs://, s3://) have no directory rename: files are copied one by one, and a reader
    should wait for the step to succeed (as KFP does) before reading OUT.
    """
    output_dir = output_dir.rstrip("/")
    if FileSystems.exists(output_dir):
        FileSystems.delete([output_dir])
    if _is_local(output_dir):
        os.makedirs(os.path.dirname(os.path.abspath(output_dir)), exist_ok=True)
        os.replace(tmp, output_dir)
        return
    sources = [m.path for m in FileSystems.match([tmp + "/**"])[0].metadata_list]
    targets = [output_dir + src[len(tmp) :] for src in sources]
    FileSystems.copy(sources, targets)
    FileSystems.delete([tmp])
