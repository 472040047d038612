"""Atomic output: write into a temporary sibling directory, then rename it into place."""

from __future__ import annotations

import os

from apache_beam.io.filesystems import FileSystems

from components.files import temp_sibling


def _is_local(path: str) -> bool:
    return "://" not in path


def _non_empty(path: str) -> bool:
    if _is_local(path):
        return os.path.isdir(path) and bool(os.listdir(path)) or os.path.isfile(path)
    return bool(FileSystems.match([path.rstrip("/") + "/**"])[0].metadata_list)


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
