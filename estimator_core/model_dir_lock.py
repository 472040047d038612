"""One writer per model_dir: a lock file naming its holder (pid, host), stale locks taken over."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time

log = logging.getLogger("estimator_core")

LOCK_FILE = ".tpuest-writer.lock"


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
                if holder.get("host") == me["host"] and not _alive(int(holder.get("pid", -1))):
                    log.warning(
                        "taking over a stale lock on %s left by dead process %s on %s",
                        os.path.dirname(self.path),
                        holder.get("pid"),
                        holder.get("host"),
                    )
                    os.unlink(self.path)
                    continue
                raise ModelDirLockedError(
                    f"{os.path.dirname(self.path)} is being {self._activity} by process "
                    f"{holder.get('pid')} on host {holder.get('host')}; only one writer at a time "
                    f"(if that process is gone, delete {self.path})"
                ) from None
            with os.fdopen(fd, "w") as f:
                json.dump(me, f)
            self._held = True
            return
        raise ModelDirLockedError(f"could not take the lock {self.path}")

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
