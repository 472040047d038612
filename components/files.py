"""Reading and writing the steps' small files: JSON records, atomic writes, recorded paths.

Local paths use the standard library; URLs (gs://, s3://, hdfs://) go through tf.io.gfile,
imported only then, so callers that never see a URL never import TensorFlow.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

_REQUIRED = object()


def is_local(path: str) -> bool:
    return "://" not in path


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def exists(path: str) -> bool:
    return os.path.exists(path) if is_local(path) else _gfile().exists(path)


def temp_sibling(path: str) -> str:
    """A fresh name beside `path` (PATH.tmp-1a2b3c4d) to write into before renaming."""
    return f"{path.rstrip('/')}.tmp-{uuid.uuid4().hex[:8]}"


def write_atomic(path: str, text: str) -> None:
    """Writes `text` to a temporary sibling, then renames it over `path`: readers see the old
    file or the new one, never half of it (on object stores the rename is a copy)."""
    temp = temp_sibling(path)
    if is_local(path):
        try:
            with open(temp, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(temp, path)
        finally:
            if os.path.exists(temp):
                os.remove(temp)
        return
    gfile = _gfile()
    with gfile.GFile(temp, "w") as f:
        f.write(text)
    gfile.rename(temp, path, overwrite=True)


def to_json(data: Any) -> str:
    """`data` as indented JSON with sorted keys; numpy scalars and arrays become numbers/lists."""
    return json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n"


def write_json_atomic(path: str, data: Any) -> None:
    write_atomic(path, to_json(data))


def _jsonable(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def read_text(path: str) -> str:
    if is_local(path):
        with open(path, encoding="utf-8") as f:
            return f.read()
    with _gfile().GFile(path) as f:
        return f.read()


def read_json(path: str, default: Any = _REQUIRED) -> Any:
    """The JSON document at `path`; `default` when given and the file does not exist.

    Raises:
        FileNotFoundError: no file at `path` (and no default).
        ValueError: the file is not valid JSON (the message names the file).
    """
    if not exists(path):
        if default is not _REQUIRED:
            return default
        raise FileNotFoundError(f"{path} not found")
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON: {e}") from e


def abspath(path: str) -> str:
    """Local paths made absolute (recorded paths stay valid from another cwd); URLs unchanged."""
    return os.path.abspath(path) if is_local(path) else path
