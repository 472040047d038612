"""A stuck training input: the first SIGINT/SIGTERM is announced, a second one ends the process."""

import os
import queue
import signal
import subprocess
import sys
import threading

import pytest

from estimator_core.interrupts import second_signal_exits

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HANG_GUARD_SECS = 300  # only ends a hung test; nothing here measures time


def _lines(stream) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def pump():
        for line in stream:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue, text: str, seen: list) -> None:
    while True:
        line = lines.get(timeout=HANG_GUARD_SECS)
        if line is None:
            raise AssertionError(f"{text!r} never came:\n" + "".join(seen[-40:]))
        seen.append(line)
        if text in line:
            return


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_second_signal_ends_training_stuck_on_its_input(tmp_path, signum, code):
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.estimator_core.stuck_trainer", str(tmp_path)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines, seen = _lines(proc.stderr), []
        _wait_for(lines, "INPUT POLLED", seen)  # the main thread waits inside session.run
        proc.send_signal(signum)
        name = signal.Signals(signum).name
        _wait_for(lines, f"{name} received: training stops when the current loop returns", seen)
        proc.send_signal(signum)
        assert proc.wait(timeout=HANG_GUARD_SECS) == code
        while (line := lines.get(timeout=HANG_GUARD_SECS)) is not None:
            seen.append(line)
    finally:
        proc.kill()
    output = "".join(seen)
    assert f"second {name}: ending the process now (exit {code})" in output
    assert f"the last checkpoint saved is {tmp_path}/model.ckpt-0 (global_step 0)" in output
    assert "no checkpoint was saved for the steps trained since" in output
    assert "TRAIN RETURNED" not in output


def test_handlers_and_wakeup_fd_are_restored_on_exit(tmp_path):
    def mine(signum, frame):
        pass

    before_int = signal.signal(signal.SIGINT, mine)
    try:
        before_term = signal.getsignal(signal.SIGTERM)
        with second_signal_exits(str(tmp_path)):
            assert signal.getsignal(signal.SIGINT) is not mine
            assert signal.set_wakeup_fd(-1) != -1  # one is set while inside
        assert signal.getsignal(signal.SIGINT) is mine
        assert signal.getsignal(signal.SIGTERM) is before_term
        assert signal.set_wakeup_fd(-1) == -1
    finally:
        signal.signal(signal.SIGINT, before_int)


def test_the_first_signal_reaches_the_previous_handler(tmp_path):
    received = []
    before = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        with second_signal_exits(str(tmp_path)):
            signal.raise_signal(signal.SIGTERM)  # handled as soon as Python runs again
        assert received == [signal.SIGTERM]
    finally:
        signal.signal(signal.SIGTERM, before)


def test_outside_the_main_thread_it_changes_nothing(tmp_path):
    handlers = []

    def run():
        with second_signal_exits(str(tmp_path)):
            handlers.append(signal.getsignal(signal.SIGINT))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert handlers == [signal.getsignal(signal.SIGINT)]
