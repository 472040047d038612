"""Attacks on the trainer (issues 22 and 23): a killed pod resumes, bad data fails with its cause."""

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from components import evaluator, prepare, trainer
from components.trainer import TrainerArgs
from tests.components import penguins_fixtures

penguins_examples = penguins_fixtures.penguins_examples


def checkpoint_steps(directory: str) -> list[int]:
    names = glob.glob(os.path.join(directory, "model.ckpt-*.index"))
    return sorted(int(re.search(r"ckpt-(\d+)\.index$", n)[1]) for n in names)


@pytest.mark.slow
def test_a_killed_attempt_with_a_fresh_output_dir_resumes_from_the_checkpoint_dir(
    tmp_path, penguins_examples
):
    durable = str(tmp_path / "durable")  # gs://... or a mounted volume on a cluster
    attempt = ["train", "--examples", penguins_examples, "--checkpoint-dir", durable,
               "--train-steps", "1000000", "--save-checkpoints-steps", "50",
               "--iterations-per-loop", "10", "--seed", "0"]  # fmt: skip
    first_dir = tmp_path / "attempt1" / "model"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.tpuest", *attempt, "--model-dir", str(first_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while not [s for s in checkpoint_steps(durable) if s > 0]:  # wait for the file
            assert proc.poll() is None, "the first attempt ended before a checkpoint past 0"
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    shutil.rmtree(tmp_path / "attempt1")  # the pod's local output is gone with it
    last = tf.train.latest_checkpoint(durable)
    resumed_at = int(re.search(r"ckpt-(\d+)$", last)[1])
    assert resumed_at > 0

    second_dir = str(tmp_path / "attempt2" / "model")
    result = trainer.run(
        penguins_examples,
        second_dir,
        TrainerArgs(train_steps=resumed_at + 20, checkpoint_dir=durable, seed=0),
    )
    assert result.started_at_step == resumed_at  # not step 0
    assert result.global_step == resumed_at + 20
    assert result.checkpoint_dir == durable
    assert checkpoint_steps(second_dir) == []  # the checkpoints live in the durable dir
    # The evaluator reads the checkpoints where the model's trainer.json says.
    evaluation = evaluator.run(penguins_examples, second_dir, str(tmp_path / "eval"))
    assert evaluation.checkpoint == os.path.join(durable, f"model.ckpt-{resumed_at + 20}")


def test_a_retry_takes_over_the_lock_a_dead_pod_left_on_a_shared_volume(
    tmp_path, penguins_examples
):
    durable = tmp_path / "volume" / "run-7"
    first = trainer.run(
        penguins_examples, str(tmp_path / "a1"), train_steps=10, checkpoint_dir=str(durable)
    )
    # The first pod died holding the engine's writer lock; the retry runs on another host.
    (durable / ".tpuest-writer.lock").write_text('{"pid": 1, "host": "attempt-1-pod", "since": 0}')
    again = trainer.run(
        penguins_examples, str(tmp_path / "a2"), train_steps=20, checkpoint_dir=str(durable)
    )
    assert (first.global_step, again.started_at_step, again.global_step) == (10, 10, 20)


def test_an_empty_train_split_fails_before_training(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("key,x,y\n" + "".join(f"k,{i},{'ab'[i % 2]}\n" for i in range(10)))
    examples = str(tmp_path / "examples")
    # Every row shares one split key, so every row lands in the same split: eval.
    result = prepare.run(
        [str(data)], examples, label="y", split_key="key", splits="train=0.01,eval=0.99"
    )
    assert result.counts["train"] == 0
    with pytest.raises(ValueError, match="the train split has no examples"):
        trainer.run(examples, str(tmp_path / "m"), train_steps=5)
    assert checkpoint_steps(str(tmp_path / "m")) == []


def test_a_label_with_more_classes_than_the_statistics_keep_fails_clearly(tmp_path):
    data = tmp_path / "in.csv"
    data.write_text("x,y\n" + "".join(f"{i},c{i}\n" for i in range(1200)))
    examples = str(tmp_path / "examples")
    prepare.run([str(data)], examples, label="y")
    with pytest.raises(ValueError, match="label 'y' has more distinct values than the 1000"):
        trainer.run(examples, str(tmp_path / "m"), train_steps=2)


def write_module(tmp_path, transform: str) -> str:
    """A module file: the built-in model with its training input passed through `transform`."""
    module = tmp_path / "module.py"
    module.write_text(
        "from components.data import make_input_fn as _make\n"
        "from components.default_model import model_fn, params  # noqa: F401\n"
        "def make_input_fn(examples_dir, split, schema, label, training, seed):\n"
        "    inner = _make(examples_dir, split, schema, label, seed=seed)\n"
        f"    return lambda params: inner(params).{transform}\n"
    )
    return str(module)


def test_an_input_that_ends_at_once_fails_instead_of_exiting_0(tmp_path, penguins_examples):
    module = write_module(tmp_path, "take(0)")
    with pytest.raises(RuntimeError, match="yielded no batch: global_step stayed at 0"):
        trainer.run(penguins_examples, str(tmp_path / "m"), train_steps=5, module_file=module)


def test_an_input_that_never_yields_ends_at_the_loop_timeout(tmp_path, penguins_examples):
    module = write_module(tmp_path, "filter(lambda features, label: False)")
    with pytest.raises(RuntimeError, match="ran longer than loop_timeout_secs 2: the training"):
        trainer.run(
            penguins_examples,
            str(tmp_path / "m"),
            train_steps=5,
            module_file=module,
            loop_timeout_secs=2.0,
        )


def test_the_loop_timeout_reaches_the_engine_from_the_cli(tmp_path, penguins_examples, monkeypatch):
    import components.trainer.train as train_module

    seen = []

    class Stop(Exception):
        pass

    def record(**kwargs):
        seen.append(kwargs["config"])
        raise Stop

    monkeypatch.setattr(train_module, "TPUEstimator", record)
    from pipelines.tpuest import main

    argv = ["train", "--examples", penguins_examples, "--model-dir", str(tmp_path / "m"),
            "--train-steps", "1", "--loop-timeout-secs", "2.5"]  # fmt: skip
    assert main(argv) == 1
    assert seen[0].loop_timeout_secs == pytest.approx(2.5, abs=1e-9)


def test_a_retry_without_a_checkpoint_dir_still_resumes_in_the_model_dir(
    tmp_path, penguins_examples
):
    model_dir = str(tmp_path / "m")
    trainer.run(penguins_examples, model_dir, train_steps=10, seed=0)
    again = trainer.run(penguins_examples, model_dir, train_steps=15, seed=0)
    assert (again.started_at_step, again.global_step) == (10, 15)


def test_the_kfp_trainer_records_its_checkpoint_dir_on_the_model(tmp_path, penguins_examples):
    from kfp import dsl

    from components.trainer.component import trainer as trainer_op

    durable = str(tmp_path / "durable")
    model = dsl.Model(uri=str(tmp_path / "model"))
    trainer_op.python_func(
        examples=dsl.Dataset(uri=penguins_examples),
        model=model,
        train_steps=5,
        save_checkpoints_steps=5,
        checkpoint_dir=durable,
    )
    assert model.metadata["checkpoint_dir"] == durable
    assert checkpoint_steps(durable) == [0, 5] and checkpoint_steps(model.path) == []
