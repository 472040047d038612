"""SIGTERM (preemption) during train(): finish the current loop, save, and return normally."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

log = logging.getLogger("estimator_core")


class PreemptionWatcher:
    """Records SIGTERM while training runs; the outer loop checks `requested` at loop boundaries.

    Only the main thread can install signal handlers; elsewhere the watcher is inert.
    """

    def __init__(self):
        self.requested = False

    def _handle(self, signum, frame):
        if not self.requested:
            log.warning(
                "SIGTERM received: saving a checkpoint at the end of this loop, then stopping"
            )
        self.requested = True

    @contextlib.contextmanager
    def installed(self):
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = signal.signal(signal.SIGTERM, self._handle)
        try:
            yield self
        finally:
            signal.signal(signal.SIGTERM, previous)
