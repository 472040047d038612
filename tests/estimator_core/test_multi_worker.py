"""Two real worker processes on 127.0.0.1 training together through TF_CONFIG."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from .fakes import estimator, train_input_fn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start_workers(model_dirs, max_steps):
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    procs = []
    for index, model_dir in enumerate(model_dirs):
        tf_config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        env = dict(
            os.environ, TF_CONFIG=json.dumps(tf_config), TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=ROOT
        )
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.estimator_core.mw_worker",
                    str(model_dir),
                    str(max_steps),
                ],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return procs


def finish(procs, timeout):
    try:
        return [p.communicate(timeout=timeout) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()


@pytest.mark.slow
def test_two_workers_train_together_and_only_the_chief_writes(tmp_path):
    chief_dir, other_dir = tmp_path / "chief", tmp_path / "other"
    procs = start_workers([chief_dir, other_dir], 40)
    outs = finish(procs, 240)
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-3000:]
        assert "DONE 40" in out
    reader = tf.train.load_checkpoint(str(chief_dir))
    assert reader.get_tensor("global_step") == 40
    assert not other_dir.exists() or not list(other_dir.iterdir())
    # Two workers sharing a global batch of 64 train exactly like one device with batch 64.
    single = estimator(tmp_path / "single", batch=64, iterations=5, tf_random_seed=1)
    x = np.random.RandomState(0).randn(256, 4).astype("float32")
    y = np.argmax(x[:, :3], 1).astype("int32")
    single.train(train_input_fn(x, y), max_steps=40)
    np.testing.assert_allclose(
        reader.get_tensor("w"), single.get_variable_value("w"), rtol=1e-5, atol=1e-6
    )


def _trained_checkpoints(model_dir) -> list:
    """Checkpoints past step 0 (the first one is written before any step runs)."""
    return [p for p in model_dir.glob("model.ckpt-*.index") if p.name != "model.ckpt-0.index"]


def wait_for_training(chief, model_dir):
    # Waits for a checkpoint written after training steps, not a time: on a loaded machine a
    # fixed pause can end before the first step, and the test then finds only step 0.
    deadline = time.time() + 120
    while time.time() < deadline and not _trained_checkpoints(model_dir):
        assert chief.poll() is None, chief.communicate()[1][-3000:]
        time.sleep(0.2)
    assert _trained_checkpoints(model_dir), "training never started"
    time.sleep(1.0)  # well into the training loops


@pytest.mark.slow
@pytest.mark.parametrize("fault, bound", [(signal.SIGKILL, 30), (signal.SIGSTOP, 40)])
def test_a_dead_or_hung_peer_fails_the_other_worker_clearly_in_bounded_time(tmp_path, fault, bound):
    chief, other = start_workers([tmp_path / "chief", tmp_path / "other"], 10**7)
    try:
        wait_for_training(chief, tmp_path / "chief")
        other.send_signal(fault)  # killed, or stopped (hung) mid-collective
        faulted_at = time.time()
        _, err = chief.communicate(timeout=120)
        elapsed = time.time() - faulted_at
    finally:
        for p in (chief, other):
            if p.poll() is None:
                p.kill()
            p.communicate()
    assert chief.returncode != 0
    assert elapsed < bound  # loop_timeout_secs is 10 in the worker script
    assert "lost contact with a peer worker" in err
    # The chief's last checkpoint is intact and readable for the restart.
    assert tf.train.load_checkpoint(str(tmp_path / "chief")).get_tensor("global_step") > 0
