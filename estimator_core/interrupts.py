"""Ctrl-C and SIGTERM during training loops that may never return to Python."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading

from estimator_core import checkpoints

log = logging.getLogger("estimator_core")

_EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}  # 128 + the signal, as a shell reports


@contextlib.contextmanager
def second_signal_exits(model_dir: str):
    """A second SIGINT or SIGTERM ends the process at once, even inside a stuck session.run.

    Python runs signal handlers only between bytecodes, so while the main thread waits in one
    session.run (an input that never yields a batch, a stalled remote read) Ctrl-C and SIGTERM
    do nothing. The interpreter still writes each signal's number to the wakeup fd the moment it
    arrives; a watcher thread reads it there. The first signal is logged (training stops when
    the current loop returns, as before: KeyboardInterrupt for SIGINT, a checkpoint and a clean
    return for SIGTERM, through the handlers in force when this was entered). The second logs
    the last checkpoint saved and ends the process with os._exit: 130 for SIGINT, 143 for
    SIGTERM. Only the main thread can install handlers; elsewhere this does nothing.

    Args:
        model_dir: where the checkpoints are, to name the last one saved.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {
        signum: signal.getsignal(signum)
        for signum in _EXIT_CODES
        # An ignored signal stays ignored; None: a handler set outside Python, left alone.
        if signal.getsignal(signum) not in (signal.SIG_IGN, None)
    }
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    for signum in previous:
        signal.signal(signum, _forward_to(previous[signum]))
    outer_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    watcher = threading.Thread(
        target=_watch,
        args=(read_fd, outer_fd, set(previous), model_dir),
        name="second-signal-exits",
        daemon=True,
    )
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(outer_fd)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        os.close(write_fd)  # the watcher reads end-of-file and returns
        watcher.join()
        os.close(read_fd)


def _forward_to(handler):
    """A Python-level handler that does what `handler` did (it runs only once the main thread
    is back in Python, i.e. when the current loop returns)."""

    def forward(signum, frame):
        if callable(handler):
            handler(signum, frame)
        elif signum == signal.SIGINT:
            raise KeyboardInterrupt
        else:  # SIG_DFL or unknown: end as the default action would
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    return forward


def _watch(read_fd: int, outer_fd: int, handled: set[int], model_dir: str) -> None:
    seen = 0
    while True:
        data = os.read(read_fd, 64)
        if not data:
            return
        if outer_fd != -1:  # an outer wakeup fd (e.g. an event loop's) still hears of them
            with contextlib.suppress(OSError):
                os.write(outer_fd, data)
        for signum in data:
            if signum not in handled:
                continue
            seen += 1
            name = signal.Signals(signum).name
            if seen == 1:
                log.warning(
                    "%s received: training stops when the current loop returns; send it again "
                    "to end the process now (steps since the last checkpoint are then lost)",
                    name,
                )
            else:
                _exit_now(name, _EXIT_CODES[signum], model_dir)


def _exit_now(name: str, code: int, model_dir: str) -> None:
    latest = checkpoints.latest_checkpoint(model_dir)
    if latest is None:
        saved = "no checkpoint has been saved in " + model_dir
    else:
        try:
            step = checkpoints.global_step_of(latest)
        except Exception:  # noqa: BLE001 - the exit must not fail on an unreadable checkpoint
            step = "unknown"
        saved = f"the last checkpoint saved is {latest} (global_step {step})"
    log.error(
        "second %s: ending the process now (exit %d); %s; no checkpoint was saved for the "
        "steps trained since",
        name,
        code,
        saved,
    )
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)
