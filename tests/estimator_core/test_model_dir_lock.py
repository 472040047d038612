"""The model_dir / pipeline-root lock: empty lock files and racing takeovers of a stale lock."""

import json
import os
import socket
import time

import pytest

from estimator_core import model_dir_lock
from estimator_core.model_dir_lock import LOCK_FILE, ModelDirLock, ModelDirLockedError


def dead_pid() -> int:
    """A pid no process has (pid_max is at most 2**22)."""
    return 2**22 + 1


def test_an_old_empty_lock_file_is_taken_over(tmp_path):
    lock = tmp_path / LOCK_FILE
    lock.write_text("")  # a writer killed between creating and writing it
    old = time.time() - model_dir_lock.EMPTY_LOCK_GRACE_SECS - 60
    os.utime(lock, (old, old))
    with ModelDirLock(str(tmp_path)):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_a_fresh_empty_lock_file_is_reported_not_as_process_none(tmp_path):
    (tmp_path / LOCK_FILE).write_text("")
    with pytest.raises(ModelDirLockedError, match="lock file is empty") as raised:
        ModelDirLock(str(tmp_path)).acquire()
    assert "None" not in str(raised.value)


def test_a_stale_lock_taken_over_by_another_process_first_is_left_to_it(tmp_path, monkeypatch):
    lock = tmp_path / LOCK_FILE
    host = socket.gethostname()
    lock.write_text(json.dumps({"pid": dead_pid(), "host": host, "since": 0}))
    live = {"pid": os.getppid(), "host": host, "since": 1}
    alive = model_dir_lock._alive

    def another_process_takes_over_meanwhile(pid):
        if pid == dead_pid() and json.loads(lock.read_text())["pid"] == dead_pid():
            lock.unlink()  # what the other process does between our read and our unlink
            lock.write_text(json.dumps(live))
        return alive(pid)

    monkeypatch.setattr(model_dir_lock, "_alive", another_process_takes_over_meanwhile)
    with pytest.raises(ModelDirLockedError, match=f"process {os.getppid()} on host"):
        ModelDirLock(str(tmp_path)).acquire()
    assert json.loads(lock.read_text()) == live  # the other process's lock is intact
