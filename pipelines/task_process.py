"""A local run's subprocess tasks end with the run, however the run ends.

kfp.local starts each task as a plain child: a SIGKILLed run (or a crashed one) leaves its
trainer running on its own until it finishes. Here each task runs in a process group of its
own, watched by a tiny watchdog process (in a session of its own, so a signal to the run's group
does not take it along) that SIGKILLs the task's group when the run's end of a pipe closes
without the word "done": the kernel closes it whatever way the run died. On Ctrl-C or SIGTERM
the run interrupts the task's group itself (SIGINT, then SIGKILL after a grace period).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys

GRACE_SECS = 30.0
# Reads stdin to its end: "done" means the task ended normally; anything else (EOF when the run
# died) runs the action in argv[1].
_WATCHDOG = "import sys\nif sys.stdin.read() != 'done':\n    exec(sys.argv[1])\n"
_KILL_GROUP = (
    "import contextlib, os, signal\n"
    "with contextlib.suppress(ProcessLookupError):\n"
    "    os.killpg({pgid}, signal.SIGKILL)\n"
)


def watchdog(action: str, *, site: bool = False) -> subprocess.Popen:
    """A process, in a session of its own, that runs the Python `action` if this process dies
    before calling done() on it. `site`: the action imports installed packages."""
    return subprocess.Popen(
        [sys.executable, *([] if site else ["-S"]), "-c", _WATCHDOG, action],
        stdin=subprocess.PIPE,
        start_new_session=True,
        text=True,
    )


def done(guard: subprocess.Popen) -> None:
    """Tells a watchdog that the task ended normally, and waits for it to exit."""
    with contextlib.suppress(BrokenPipeError):
        guard.stdin.write("done")
        guard.stdin.close()
    guard.wait()


def run_task(full_command: list[str], env_vars: dict[str, str] | None = None) -> int:
    """kfp's run_local_subprocess with the task's lifetime tied to the run's: streams the
    task's merged output to stdout and returns its exit code."""
    env = {**os.environ, **env_vars} if env_vars else None
    with subprocess.Popen(
        full_command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
        env=env,
        process_group=0,  # the task and whatever it starts: one group to end
    ) as task:
        guard = watchdog(_KILL_GROUP.format(pgid=task.pid))
        try:
            for line in iter(task.stdout.readline, ""):
                print(line, end="")
            print("\n")
            code = task.wait()
        except BaseException:  # Ctrl-C, SIGTERM (as KeyboardInterrupt) or a bug of ours
            _end(task)
            raise
        finally:
            done(guard)
        return code


def _end(task: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(task.pid, signal.SIGINT)
    try:
        task.wait(timeout=GRACE_SECS)
    except BaseException:  # not done in time, or another signal
        with contextlib.suppress(ProcessLookupError):
            os.killpg(task.pid, signal.SIGKILL)
        task.wait()
