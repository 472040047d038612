"""Fault injection on the engine: SIGKILL, SIGTERM, a second writer, corrupted checkpoints."""

import glob
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from estimator_core.checkpoints import CheckpointError
from estimator_core.model_dir_lock import LOCK_FILE, ModelDirLockedError

from .fakes import estimator, finite_input_fn, linear_model_fn, train_input_fn

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")


def trainer(model_dir, max_steps, save_steps=5):
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.estimator_core.crash_trainer",
            str(model_dir),
            str(max_steps),
            str(save_steps),
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_graph_this_device_cannot_run_is_not_blamed_on_the_checkpoint(two_checkpoints, caplog):
    def tpu_only_model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        tf.compat.v1.tpu.cross_replica_sum(spec.loss)  # a TPU op: no CPU kernel
        return spec

    est = estimator(two_checkpoints, model_fn=tpu_only_model_fn)
    with pytest.raises(tf.errors.InvalidArgumentError, match="'CrossReplicaSum'") as raised:
        est.evaluate(finite_input_fn())
    assert not isinstance(raised.value, CheckpointError)
    assert "falling back" not in caplog.text  # model.ckpt-5 is no better


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_ends_identical(tmp_path):
    steps = 6000  # ~9 s of training with a checkpoint every 10 steps
    reference = trainer(tmp_path / "reference", steps, save_steps=10)
    out, err = reference.communicate(timeout=300)
    assert reference.returncode == 0, err[-3000:]
    rng = random.Random(1234)
    model_dir = tmp_path / "killed"
    kills = 0
    while kills < 10:
        proc = trainer(model_dir, steps, save_steps=10)
        time.sleep(
            rng.uniform(1.0, 3.5)
        )  # import, graph build, restore, loops or a checkpoint write
        if proc.poll() is not None:
            break  # it finished before this kill
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        kills += 1
        latest = tf.train.latest_checkpoint(str(model_dir))
        if latest:  # whatever the moment, the checkpoint it resumes from is readable
            tf.train.load_checkpoint(latest).get_tensor("w1")
    assert kills == 10
    final = trainer(model_dir, steps, save_steps=10)
    out, err = final.communicate(timeout=300)
    assert final.returncode == 0, err[-3000:]
    assert f"FINISHED {steps}" in out
    want = tf.train.load_checkpoint(str(tmp_path / "reference"))
    got = tf.train.load_checkpoint(str(model_dir))
    assert got.get_tensor("global_step") == steps
    for name in ("w1", "w2"):
        np.testing.assert_array_equal(got.get_tensor(name), want.get_tensor(name))


@pytest.mark.slow
def test_sigterm_saves_at_the_loop_boundary_and_exits_zero(tmp_path):
    proc = trainer(tmp_path, 10**7, save_steps=10**6)
    assert proc.stdout.readline().startswith("STARTED")
    deadline = time.time() + 120
    while not glob.glob(f"{tmp_path}/model.ckpt-0.index") and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # training loops are running; no periodic checkpoint is due
    proc.send_signal(signal.SIGTERM)
    sent = time.time()
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert time.time() - sent < 30
    assert "PREEMPTED" in out
    step = int(out.split("FINISHED")[1].split()[0])
    assert step > 0
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith(f"model.ckpt-{step}")


def test_second_writer_fails_fast_naming_the_holder(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock = tmp_path / LOCK_FILE
        lock.write_text(f'{{"pid": {holder.pid}, "host": "{socket.gethostname()}", "since": 0}}')
        with pytest.raises(
            ModelDirLockedError, match=f"process {holder.pid} on host {socket.gethostname()}"
        ):
            estimator(tmp_path).train(train_input_fn(), steps=2)
        assert not glob.glob(f"{tmp_path}/model.ckpt-*")  # nothing written by the refused trainer
    finally:
        holder.kill()
        holder.wait()


def test_stale_lock_from_a_dead_process_is_taken_over(tmp_path, caplog):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / LOCK_FILE).write_text(f'{{"pid": {dead.pid}, "host": "{socket.gethostname()}"}}')
    est = estimator(tmp_path)
    est.train(train_input_fn(), steps=2)
    assert "stale lock" in caplog.text
    assert est.get_variable_value("global_step") == 2
    assert not (tmp_path / LOCK_FILE).exists()  # released when train() returns


def test_truncated_checkpoint_is_named_and_training_falls_back(tmp_path):
    est = estimator(tmp_path, iterations=5, save_checkpoints_steps=5)
    est.train(train_input_fn(), max_steps=10)
    data = glob.glob(f"{tmp_path}/model.ckpt-10.data-*")[0]
    with open(data, "r+b") as f:
        f.truncate(4)
    with pytest.raises(CheckpointError, match="model.ckpt-10"):
        est.evaluate(finite_input_fn())
    est.train(train_input_fn(), steps=2)  # resumes from model.ckpt-5, the newest readable one
    assert est.get_variable_value("global_step") == 7


@pytest.fixture(scope="module")
def two_checkpoints(tmp_path_factory):
    """A model_dir with model.ckpt-5 and model.ckpt-10, copied fresh for each test."""
    model_dir = tmp_path_factory.mktemp("two")
    estimator(model_dir, iterations=5, save_checkpoints_steps=5).train(
        train_input_fn(), max_steps=10
    )
    return model_dir


def _damaged_copy(two_checkpoints, tmp_path, damage):
    model_dir = tmp_path / "m"
    shutil.copytree(two_checkpoints, model_dir)
    data = glob.glob(f"{model_dir}/model.ckpt-10.data-*")[0]
    damage(data)
    return model_dir, data


def _truncate(path):
    with open(path, "r+b") as f:
        f.truncate(4)


def _make_unreadable(path):
    os.remove(path)
    os.mkdir(path)  # a directory where the data file was: unreadable even for root


@pytest.mark.parametrize(
    "damage, reason",
    [
        (_truncate, r"truncated: 4 bytes where the index lists \d+; OutOfRangeError: Read less"),
        (_make_unreadable, r"FailedPreconditionError: .*; Is a directory"),
    ],
)
def test_restore_errors_name_the_file_and_the_reason(two_checkpoints, tmp_path, damage, reason):
    model_dir, data = _damaged_copy(two_checkpoints, tmp_path, damage)
    with pytest.raises(CheckpointError) as raised:
        estimator(model_dir).evaluate(finite_input_fn())
    message = str(raised.value)
    assert message.startswith(f"cannot restore checkpoint {model_dir}/model.ckpt-10: ")
    assert data in message
    assert re.search(reason, message), message
    assert "Graph execution error" not in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_restore_error_names_a_data_file_without_read_permission(two_checkpoints, tmp_path):
    model_dir, data = _damaged_copy(two_checkpoints, tmp_path, lambda path: os.chmod(path, 0))
    with pytest.raises(CheckpointError, match=f"{re.escape(data)}.*Permission denied"):
        estimator(model_dir).evaluate(finite_input_fn())


def test_a_checkpoint_missing_a_variable_says_so(two_checkpoints, tmp_path):
    def wider_model_fn(features, labels, mode, params):
        tf.compat.v1.get_variable("extra", [2])
        return linear_model_fn(features, labels, mode, params)

    with pytest.raises(
        CheckpointError, match="Key extra not found in checkpoint.*changed model_fn"
    ):
        estimator(two_checkpoints, model_fn=wider_model_fn).evaluate(finite_input_fn())


@pytest.mark.slow
def test_a_kill_during_export_never_leaves_a_partial_version_visible(tmp_path):
    estimator(tmp_path / "model").train(train_input_fn(), steps=5)
    export_base = tmp_path / "exports"
    rng = random.Random(7)
    for _ in range(5):
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.estimator_core.export_loop",
                str(tmp_path / "model"),
                str(export_base),
            ],
            cwd=ROOT,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().startswith("EXPORTING"), proc.stderr.read()[-2000:]
        time.sleep(rng.uniform(0.2, 1.5))  # somewhere inside an export
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
    versions = [d for d in os.listdir(export_base) if d.isdigit()]
    assert versions
    for version in versions:  # every visible version is complete and serves
        loaded = tf.saved_model.load(str(export_base / version))
        out = loaded.signatures["serving_default"](x=tf.zeros([1, 4]))
        assert out["logits"].shape == (1, 3)
    # Interrupted writes stay hidden under a dot-prefixed temporary name.
    assert all(d.isdigit() or d.startswith(".temp-") for d in os.listdir(export_base))
