"""Local recurring runs: on an interval or a cron schedule, each pipeline run in its own session.

Signals: the first SIGINT or SIGTERM stops the schedule (a wait ends at once; a run in progress
finishes and is recorded); a second one aborts the run in progress (SIGINT to its process group,
SIGKILL if it has not ended 30 s later or on a third signal). A terminal's Ctrl-C reaches only the
scheduler: every run is a child process in a session of its own.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from estimator_core.checks import duration_secs
from pipelines.cron import Cron

log = logging.getLogger("tpuest.pipeline")

# Seconds from now until the next run, given when the last one started (time.monotonic(), or
# None before the first run).
NextDelay = Callable[[float | None], float]
ABORT_GRACE_SECS = 30.0


# Bounds of --every: a shorter interval starts each run as soon as the last ended (a run takes
# longer), pushing an export each time; a longer one overflows the wait after the first run.
MIN_EVERY_SECS = 60.0
MAX_EVERY_SECS = 366 * 86400.0


def parse_every(text: str) -> float:
    """'90s' / '15m' / '6h' / '1d' -> seconds (the engine's one duration parser), between one
    minute and 366 days.

    Raises:
        ValueError: not a duration, or out of those bounds.
    """
    seconds = duration_secs("interval", text)
    if not MIN_EVERY_SECS <= seconds <= MAX_EVERY_SECS:
        raise ValueError(
            f"interval {text!r} must be between 1m and 366d (runs closer together would start "
            "back to back, each pushing an export)"
        )
    return seconds


def every(seconds: float) -> NextDelay:
    """The first run at once, then one every `seconds` after the previous one started (at once
    if that run took longer)."""
    if not 0 < seconds <= MAX_EVERY_SECS:
        raise ValueError(f"the interval must be > 0 and <= {MAX_EVERY_SECS:.0f} s, got {seconds}")

    def next_delay(last_started: float | None) -> float:
        if last_started is None:
            return 0.0
        return max(0.0, seconds - (time.monotonic() - last_started))

    return next_delay


def on_cron(expression: str) -> NextDelay:
    """At the fire times of a cron expression in local time (like crontab); fire times that pass
    while a run is in progress are skipped, not caught up."""
    cron = Cron.parse(expression)

    def next_delay(_last_started: float | None) -> float:
        now = time.time()
        fire = cron.next_after(datetime.datetime.fromtimestamp(now))
        return max(0.0, fire.timestamp() - now)  # timestamp() of a naive time: local, DST-aware

    return next_delay


class Schedule:
    """Runs `job` whenever `next_delay` says, never two at once, until SIGINT or SIGTERM."""

    def __init__(self, next_delay: NextDelay):
        self.next_delay = next_delay
        self._stop = threading.Event()

    def _on_signal(self, signum, _frame) -> None:
        if self._stop.is_set():
            raise KeyboardInterrupt  # the second signal: abort the run in progress
        self._stop.set()  # before logging: a handler can run inside another one
        log.info(
            "%s: no more runs; a run in progress finishes (signal again to abort it)",
            signal.Signals(signum).name,
        )

    def run(self, job: Callable[[], object]) -> int:
        """Returns the number of runs started; a run that raises is logged and the schedule goes
        on. KeyboardInterrupt (the second signal) propagates."""
        handlers = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        runs, last_started = 0, None
        try:
            while not self._stop.is_set():
                delay = self.next_delay(last_started)
                if delay > 0:
                    at = datetime.datetime.now() + datetime.timedelta(seconds=delay)
                    log.info("next run at %s", at.isoformat(sep=" ", timespec="seconds"))
                if self._stop.wait(delay):
                    break
                last_started, runs = time.monotonic(), runs + 1
                try:
                    job()
                except Exception as e:
                    log.error("scheduled run failed: %s: %s", type(e).__name__, e)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)
        log.info("schedule stopped after %d run(s)", runs)
        return runs


def run_in_own_session(command: list[str]) -> int:
    """Runs `command` in a new session and returns its exit code.

    Signals sent to our process group (a terminal's Ctrl-C) do not reach it. A KeyboardInterrupt
    here (the schedule's second signal) interrupts its whole process group and re-raises.
    """
    proc = subprocess.Popen(command, start_new_session=True)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        log.warning("aborting the run in progress (process group %d)", proc.pid)
        _signal_group(proc, signal.SIGINT)
        try:
            proc.wait(timeout=ABORT_GRACE_SECS)
        except BaseException:  # not done in time, or yet another signal
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
        raise


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(proc.pid, sig)  # start_new_session: its pid is its process group id


def pipeline_run_command(run_kwargs: dict) -> list[str]:
    """The command line of one pipeline run: `run_local(**run_kwargs)` in a fresh interpreter."""
    return [sys.executable, "-m", "pipelines.recurring", json.dumps(run_kwargs)]


def run_pipeline_in_own_session(run_kwargs: dict) -> None:
    code = run_in_own_session(pipeline_run_command(run_kwargs))
    if code != 0:
        raise RuntimeError(f"the pipeline run exited with code {code}")


def main(argv: list[str] | None = None) -> int:
    """One scheduled run: run_local with the JSON keyword arguments in argv[0], then its summary."""
    from pipelines.local import run_local, summary

    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    logging.getLogger("tensorflow").setLevel(logging.WARNING)
    try:
        record = run_local(**json.loads(argv[0]))
    except KeyboardInterrupt:
        print("tpuest: run interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # recorded in the index by run_local
        print(f"tpuest pipeline run: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print(summary(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
