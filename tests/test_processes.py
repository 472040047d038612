"""The `spawn` fixture's teardown ends what a test started, its process group included."""

import os
import subprocess
import sys
import time

from tests.processes import Spawned

# Starts a grandchild, prints its pid, then waits: as a scheduler waits on a run.
PARENT = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(120)\n"
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped by its (killed) parent is a zombie: it counts as ended.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"
    except FileNotFoundError:  # reaped meanwhile
        return False


def test_end_all_kills_a_session_s_whole_group_and_a_plain_process():
    spawned = Spawned()
    leader = spawned(
        [sys.executable, "-c", PARENT], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    grandchild = int(leader.stdout.readline())
    plain = spawned([sys.executable, "-c", "import time; time.sleep(120)"])
    assert alive(leader.pid) and alive(grandchild) and alive(plain.pid)
    spawned.end_all()
    assert leader.returncode is not None and plain.returncode is not None
    # SIGKILL is delivered asynchronously: the grandchild ends shortly after, not at once.
    deadline = time.monotonic() + 30
    while alive(grandchild):
        assert time.monotonic() < deadline, f"process {grandchild} of the group still runs"
        time.sleep(0.05)


def test_end_all_leaves_nothing_to_do_for_processes_that_ended():
    spawned = Spawned()
    done = spawned([sys.executable, "-c", "pass"])
    done.wait()
    spawned.end_all()
    assert done.returncode == 0
