"""Runs TensorFlow's own tf_upgrade_v2 on one file's text, as a library, and parses its log."""

from __future__ import annotations

import contextlib
import io
import os
import re

# "12:4: INFO: Renamed 'tf.gfile.Glob' to 'tf.io.gfile.glob'"
_LOG = re.compile(r"^(?:.*?:)?(\d+):(\d+): (INFO|WARNING|ERROR): (.*)$", re.S)
_SYMBOL = re.compile(r"\btf\.[\w.]+")


@contextlib.contextmanager
def _quiet():
    # ast_edits prints every log line it records; the report carries them instead.
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def _upgrader():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tensorflow.tools.compatibility import ast_edits, tf_upgrade_v2

    # Files importing `tensorflow.compat.v1 as tf` stay on compat.v1 (tf_upgrade_v2 leaves
    # them alone); no import renames: this project's rules handle the imports it knows.
    spec = tf_upgrade_v2.TFAPIChangeSpec(import_rename=False, upgrade_compat_v1_import=False)
    return ast_edits.ASTCodeUpgrader(spec)


def parse_log(lines: list[str]) -> list[tuple[int, str, str, str]]:
    """(line, severity, message, first tf.* symbol named) for each log line of tf_upgrade_v2."""
    entries = []
    for text in lines:
        match = _LOG.match(text.strip())
        if not match:
            continue
        line, _col, severity, message = match.groups()
        symbol = _SYMBOL.search(message)
        message = " ".join(message.split())  # some span lines; the report keeps one per entry
        entries.append((int(line), severity, message, symbol.group(0) if symbol else ""))
    return entries


def upgrade(text: str, path: str) -> tuple[str, list[tuple[int, str, str, str]]]:
    """tf_upgrade_v2's result for `text`: the new text and its log entries (see parse_log).

    Raises:
        SyntaxError: the file does not parse (tf_upgrade_v2 reads Python 3 only).
    """
    with _quiet():
        try:
            processed, new_text, logs, errors = _upgrader().update_string_pasta(text, path)
        except Exception as e:  # noqa: BLE001 - pasta fails on some valid Python (a[(x):(y)])
            # tf_upgrade_v2 reads the file through pasta, which rejects some valid slices; the
            # file still gets this project's rewrites, and the report says what was skipped.
            reason = " ".join(str(e).split())[:200]
            where = re.search(r"\bline (\d+)", reason)
            message = (
                f"could not read this file ({type(e).__name__}: {reason}), so its "
                "TF1->TF2 renames were not applied; run tf_upgrade_v2 on it by hand after "
                "rewriting the construct it rejects"
            )
            return text, [(int(where.group(1)) if where else 1, "ERROR", message, "")]
    if not processed:
        raise SyntaxError(f"{path}: tf_upgrade_v2 cannot parse it: {errors[0].splitlines()[-1]}")
    # `errors` repeats the WARNING/ERROR lines of `logs`, with the file name in front.
    return new_text, parse_log(logs)
