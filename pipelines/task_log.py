"""Where a local run's kfp.local output goes: the whole of it into the run's log file, one
progress line per task (started, finished with its status and time) on stderr, and the error a
failed task ended with (its last exception line) for the run's record.

kfp.local echoes every task's executor input, its JSON and its streamed logs to stdout; that
belongs in a file a user opens when something fails, not on the terminal of `tpuest demo`.
"""

from __future__ import annotations

import contextlib
import io
import logging
import re
import sys
import time
import warnings

from pipelines import redact

_TRACEBACK = "Traceback (most recent call last):"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_STARTED = re.compile(r"^Executing task '(?P<task>[^']+)'")
_FINISHED = re.compile(r"^Task '(?P<task>[^']+)' finished with status (?P<status>\w+)")
# Logged by kfp.local outside its own log handler; the DAG bookkeeping belongs in the file.
_SKIPPED = re.compile(r"^Skipping conditional task")
# kfp.local warns for any image whose name lacks "python": ours runs the same code locally.
_IMAGE_WARNING = "You may be attemping to run a task that uses custom or non-Python base image"


class TaskOutput(io.TextIOBase):
    """stdout during a run: everything goes to the log file; the lines of the task running now
    are kept too, so a failure can be reported with the task's own error."""

    def __init__(self, log_file, secrets: list[str] = ()):
        super().__init__()
        self.log_file, self.secrets = log_file, list(secrets)
        self.task: str | None = None
        self.failed: dict[str, str] = {}  # task -> its error
        self._lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        written = len(text)
        text = redact.hide(text, self.secrets)  # kfp echoes every task's parameters
        self.log_file.write(text)
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        self._lines.extend(lines)
        return written

    def flush(self) -> None:
        self.log_file.flush()

    def start(self, task: str) -> None:
        self.task, self._lines, self._partial = task, [], ""

    def finish(self, task: str, status: str) -> None:
        if status != "SUCCESS":
            self.failed[task] = last_error(self._lines + [self._partial]) or f"status {status}"

    def failure(self) -> str | None:
        """'step TASK failed: ERROR' for the last task that failed, None when none did."""
        if not self.failed:
            return None
        task, error = list(self.failed.items())[-1]
        return f"step {task} failed: {error}"


def last_error(lines: list[str]) -> str | None:
    """The exception line(s) a Python traceback in `lines` ended with (kfp.local indents a task's
    output by 4 spaces), or None when there is no traceback."""
    lines = [_ANSI.sub("", line.removeprefix("    ")).rstrip() for line in lines]
    starts = [i for i, line in enumerate(lines) if line.startswith(_TRACEBACK)]
    if not starts:
        return None
    error: list[str] = []
    for line in lines[starts[-1] + 1 :]:
        if error and (not line or line.startswith((" ", _TRACEBACK))):
            break
        if not line.startswith(" ") and line:
            error.append(line)
    return "\n".join(error) or None


class _Progress(logging.Filter):
    """Sees kfp.local's own log records (root logger) and writes one line per task event."""

    def __init__(self, stream, output: TaskOutput):
        super().__init__()
        self.stream, self.output, self.log_file = stream, output, output.log_file
        self.started: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = _ANSI.sub("", record.getMessage())
        if match := _STARTED.match(message):
            self.started[match["task"]] = time.monotonic()
            self.output.start(match["task"])
            self._write(f"  {match['task']} ...")
        elif match := _FINISHED.match(message):
            took = time.monotonic() - self.started.get(match["task"], time.monotonic())
            self.output.finish(match["task"], match["status"])
            self._write(f"  {match['task']}: {match['status']} ({took:.1f}s)")
        elif _SKIPPED.match(message):
            print(message, file=self.log_file, flush=True)
            return False
        return True

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)


@contextlib.contextmanager
def captured(log_path: str, stream=None, secrets: list[str] = ()):
    """Sends stdout (kfp.local's logs and task output) to `log_path` with `secrets` hidden,
    progress to `stream`; yields the TaskOutput (its failure() names the failed task and its
    error)."""
    root = logging.getLogger()
    with (
        open(log_path, "w", buffering=1) as log_file,
        warnings.catch_warnings(),
    ):
        output = TaskOutput(log_file, secrets)
        warnings.filterwarnings("ignore", message=_IMAGE_WARNING, category=RuntimeWarning)
        progress = _Progress(stream if stream is not None else sys.stderr, output)
        root.addFilter(progress)
        try:
            with contextlib.redirect_stdout(output):
                yield output
        finally:
            root.removeFilter(progress)


def plain(text: str) -> str:
    """`text` without terminal colour codes (kfp.local colours its messages)."""
    return _ANSI.sub("", text)


def tail(log_path: str, lines: int = 40) -> str:
    """The last `lines` lines of a run's log (what to show when a task failed)."""
    with open(log_path, errors="replace") as f:
        return "".join(f.readlines()[-lines:])
