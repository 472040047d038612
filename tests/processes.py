"""Subprocesses a test starts end with the test, passed or failed (see the `spawn` fixture)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


class Spawned:
    """Starts processes like subprocess.Popen and remembers them, so `end_all` can stop them."""

    def __init__(self) -> None:
        self._started: list[tuple[subprocess.Popen, bool]] = []

    def __call__(self, *args, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(*args, **kwargs)
        self._started.append((proc, bool(kwargs.get("start_new_session"))))
        return proc

    def end_all(self) -> None:
        """SIGKILLs every process still running; one started in a session of its own takes
        its whole process group with it (the children it started: schedulers' runs, tasks)."""
        for proc, own_session in self._started:
            if own_session:  # the group may outlive its leader
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            elif proc.poll() is None:
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream is not None:
                    stream.close()
