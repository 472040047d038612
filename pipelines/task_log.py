"""Where a local run's kfp.local output goes: the whole of it into the run's log file, and one
progress line per task (started, finished with its status and time) on stderr.

kfp.local echoes every task's executor input, its JSON and its streamed logs to stdout; that
belongs in a file a user opens when something fails, not on the terminal of `tpuest demo`.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import time
import warnings

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED = re.compile(r"^Executing task '(?P<task>[^']+)'")
_FINISHED = re.compile(r"^Task '(?P<task>[^']+)' finished with status (?P<status>\w+)")
# Logged by kfp.local outside its own log handler; the DAG bookkeeping belongs in the file.
_SKIPPED = re.compile(r"^Skipping conditional task")
# kfp.local warns for any image whose name lacks "python": ours runs the same code locally.
_IMAGE_WARNING = "You may be attemping to run a task that uses custom or non-Python base image"


class _Progress(logging.Filter):
    """Sees kfp.local's own log records (root logger) and writes one line per task event."""

    def __init__(self, stream, log_file):
        super().__init__()
        self.stream, self.log_file = stream, log_file
        self.started: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = _ANSI.sub("", record.getMessage())
        if match := _STARTED.match(message):
            self.started[match["task"]] = time.monotonic()
            self._write(f"  {match['task']} ...")
        elif match := _FINISHED.match(message):
            took = time.monotonic() - self.started.get(match["task"], time.monotonic())
            self._write(f"  {match['task']}: {match['status']} ({took:.1f}s)")
        elif _SKIPPED.match(message):
            print(message, file=self.log_file, flush=True)
            return False
        return True

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


@contextlib.contextmanager
def captured(log_path: str, stream=None):
    """Sends stdout (kfp.local's logs and task output) to `log_path`, progress to `stream`."""
    root = logging.getLogger()
    with (
        open(log_path, "w", buffering=1) as log_file,
        contextlib.redirect_stdout(log_file),
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("ignore", message=_IMAGE_WARNING, category=RuntimeWarning)
        progress = _Progress(stream if stream is not None else sys.stderr, log_file)
        root.addFilter(progress)
        try:
            yield
        finally:
            root.removeFilter(progress)


def tail(log_path: str, lines: int = 40) -> str:
    """The last `lines` lines of a run's log (what to show when a task failed)."""
    with open(log_path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])
