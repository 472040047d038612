"""One writer per model_dir: a lock file naming its holder (pid, host), stale locks taken over."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time

log = logging.getLogger("estimator_core")

LOCK_FILE = ".tpuest-writer.lock"
# A lock file is created and written in one go; one still empty after this long was left by a
# process that died in between.
EMPTY_LOCK_GRACE_SECS = 10.0


class ModelDirLockedError(RuntimeError):
    """Another live process is training into the same model_dir."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_local(path: str) -> bool:
    return "://" not in path


class ModelDirLock:
    """Held for the duration of train() on the chief; a no-op for remote (gs://, s3://) dirs."""

    def __init__(self, model_dir: str, activity: str = "trained"):
        self.path = os.path.join(model_dir, LOCK_FILE)
        if _is_local(self.path):  # released where it was taken, even if the cwd moves meanwhile
            self.path = os.path.abspath(self.path)
        self._activity = activity
        self._held = False

    def acquire(self) -> None:
        if not _is_local(self.path):
            log.info("model_dir is remote: single-writer lock not enforced")
            return
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname(), "since": time.time()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder.get("pid") == os.getpid() and holder.get("host") == me["host"]:
                    raise ModelDirLockedError(
                        f"{os.path.dirname(self.path)} is already being {self._activity} by this "
                        "process (train() called again from a hook or another thread?)"
                    ) from None
                if self._stale(holder, me["host"]):
                    if self._take_over(holder, me["host"]):
                        continue
                    holder = self._holder()  # another process took it over first
                who = (
                    f"process {holder.get('pid')} on host {holder.get('host')}"
                    if holder
                    else "a process that has not written its lock yet (the lock file is empty)"
                )
                raise ModelDirLockedError(
                    f"{os.path.dirname(self.path)} is being {self._activity} by {who}; only one "
                    f"writer at a time (if that process is gone, delete {self.path})"
                ) from None
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self._held = True
            return
        raise ModelDirLockedError(f"could not take the lock {self.path}")

    def _stale(self, holder: dict, host: str) -> bool:
        """A lock whose holder died on this host, or one left empty or unreadable (a writer
        killed between creating and writing it) for longer than writing takes."""
        if not holder:
            try:
                return time.time() - os.stat(self.path).st_mtime > EMPTY_LOCK_GRACE_SECS
            except FileNotFoundError:
                return True
        return holder.get("host") == host and not _alive(int(holder.get("pid") or -1))

    def _take_over(self, holder: dict, host: str) -> bool:
        """Removes the stale lock unless another process took it over first: the holder is read
        again under an exclusive flock on the directory, which every takeover holds, so two
        processes never both remove a lock (one could remove the other's new, live lock)."""
        fd = os.open(os.path.dirname(self.path), os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if self._holder() != holder or (holder and not self._stale(holder, host)):
                return not os.path.exists(self.path)  # gone: try again; replaced: held
            log.warning(
                "taking over a stale lock on %s left by %s",
                os.path.dirname(self.path),
                f"dead process {holder.get('pid')} on {holder.get('host')}"
                if holder
                else "a process that died before writing it (empty lock file)",
            )
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            return True
        finally:
            os.close(fd)  # releases the flock

    def _holder(self) -> dict:
        try:
            with open(self.path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def release(self) -> None:
        if self._held:
            self._held = False
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
