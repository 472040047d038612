"""The trainer: real checkpoints, resume, warm start, params, replicas, and the `tpuest train` CLI."""

import json
import logging
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import components.trainer.train
from components import artifacts, trainer
from components.module_file import ModuleFileError
from pipelines.tpuest import main
from tests.components import penguins_fixtures
from tests.components.penguins_fixtures import TRAIN_STEPS

# Shared session fixtures (pytest finds fixtures by module attribute).
penguins_examples = penguins_fixtures.penguins_examples
penguins_model = penguins_fixtures.penguins_model


def test_trainer_writes_checkpoints_data_copies_and_its_record(penguins_model, penguins_examples):
    model_dir = penguins_model.model_dir
    assert penguins_model.global_step == TRAIN_STEPS
    assert tf.train.latest_checkpoint(model_dir).endswith(f"model.ckpt-{TRAIN_STEPS}")
    assert penguins_model.loss is not None and penguins_model.loss < 0.5
    assert penguins_model.steps_per_sec > 0
    for name in (artifacts.SCHEMA_FILE, artifacts.STATS_FILE):
        with (
            open(os.path.join(model_dir, name)) as a,
            open(os.path.join(penguins_examples, name)) as b,
        ):
            assert a.read() == b.read()
    with open(os.path.join(model_dir, artifacts.TRAINER_RESULT_FILE)) as f:
        record = json.load(f)
    assert record["global_step"] == TRAIN_STEPS and record["loss"] == penguins_model.loss
    assert record["examples_dir"] == os.path.abspath(penguins_examples)
    assert record["module_file"] == "components.default_model"
    assert record["started_at_step"] == 0 and record["finished_at"]
    assert any(f.startswith("events.out.tfevents") for f in os.listdir(model_dir))


def test_training_logs_step_loss_steps_per_sec_and_eta(tmp_path, penguins_examples, caplog):
    caplog.set_level(logging.INFO, logger="estimator_core")
    trainer.run(
        penguins_examples, str(tmp_path / "m"), train_steps=200, iterations_per_loop=50, seed=0
    )
    progress = re.compile(r"global_step (\d+): loss = \S+ \([\d.]+ steps/s, ETA \d+s\)")
    steps = [int(m[1]) for r in caplog.records if (m := progress.fullmatch(r.getMessage()))]
    assert steps == [100, 200]  # every log_step_count_steps (100) steps


def test_a_model_dir_with_checkpoints_is_resumed(tmp_path, penguins_examples):
    model_dir = str(tmp_path / "model")
    first = trainer.run(penguins_examples, model_dir, train_steps=20, seed=1)
    again = trainer.run(penguins_examples, model_dir, train_steps=20, seed=1)
    assert again.global_step == 20 and again.started_at_step == 20
    assert again.loss == first.loss  # nothing left to train: the last run's loss is kept
    more = trainer.run(penguins_examples, model_dir, train_steps=30, seed=1)
    assert (more.started_at_step, more.global_step) == (20, 30)


def test_params_override_the_module_defaults_and_are_recorded(tmp_path, penguins_examples):
    model_dir = str(tmp_path / "model")
    result = trainer.run(
        penguins_examples,
        model_dir,
        train_steps=5,
        params={"hidden_units": [8], "one_hot_max_vocab": 1, "embedding_dim": 3},
    )
    assert result.params == {"hidden_units": [8], "one_hot_max_vocab": 1, "embedding_dim": 3}
    shapes = dict(tf.train.list_variables(model_dir))
    assert shapes["hidden_0/kernel"][1] == 8 and "hidden_1/kernel" not in shapes
    assert shapes["embedding/island"] == [4, 3]  # 3 islands + 1 OOV bucket, embedded


def test_warm_start_initializes_a_new_model_from_a_previous_one(
    tmp_path, penguins_examples, penguins_model
):
    model_dir = str(tmp_path / "warm")
    trainer.run(
        penguins_examples,
        model_dir,
        train_steps=1,
        warm_start_from=penguins_model.model_dir,
        params={"learning_rate": 1e-12},
    )
    source = tf.train.load_checkpoint(penguins_model.model_dir).get_tensor("hidden_0/kernel")
    warm = tf.train.load_checkpoint(model_dir).get_tensor("hidden_0/kernel")
    np.testing.assert_allclose(warm, source, atol=1e-6)


def test_warm_start_from_another_architecture_names_the_variable_and_shapes(
    tmp_path, penguins_examples, penguins_model
):
    # penguins_model has hidden_units [32, 16]: the first layer no longer fits.
    message = (
        rf"warm_start_from {penguins_model.model_dir}: variable hidden_0/(kernel|bias) has "
        r"shape \[(\d+, )?64\] here but \[(\d+, )?32\] in the checkpoint; warm start needs "
        r"the same architecture \(or --params that keep it\)"
    )
    with pytest.raises(ValueError, match=message):
        trainer.run(
            penguins_examples,
            str(tmp_path / "warm"),
            train_steps=1,
            warm_start_from=penguins_model.model_dir,
            params={"hidden_units": [64, 32]},
        )
    assert tf.train.latest_checkpoint(str(tmp_path / "warm")) is None


def test_two_mirrored_replicas_train(tmp_path, penguins_examples):
    result = trainer.run(
        penguins_examples, str(tmp_path / "m"), train_steps=10, replicas=2, train_batch_size=16
    )
    assert result.global_step == 10


def test_multi_worker_needs_tf_config(tmp_path, penguins_examples, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="multi_worker needs TF_CONFIG listing at least 2"):
        trainer.run(penguins_examples, str(tmp_path / "m"), train_steps=1, strategy="multi_worker")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"train_steps": 0}, "train_steps must be a positive int, got 0"),
        ({"train_steps": 1, "train_batch_size": -1}, "train_batch_size must be a positive"),
        ({"train_steps": 1, "params": {"batch_size": 3}}, r"must not set \['batch_size'\]"),
        ({"train_steps": 1, "params": {"stats_path": "x"}}, r"must not set \['stats_path'\]"),
        ({"train_steps": 1, "strategy": "ring"}, "strategy 'ring' is not one of"),
        ({"train_steps": 1, "num_shards": 8}, "num_shards needs use_tpu"),
    ],
)
def test_bad_arguments_are_named_before_anything_is_written(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        trainer.run(str(tmp_path / "examples"), str(tmp_path / "m"), **kwargs)
    assert not (tmp_path / "m").exists()


def test_a_missing_module_file_fails_before_model_dir_is_touched(tmp_path, penguins_examples):
    with pytest.raises(ModuleFileError, match="module file not found"):
        trainer.run(penguins_examples, str(tmp_path / "m"), train_steps=1, module_file="nope.py")
    assert not (tmp_path / "m").exists()


def test_examples_without_schema_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="schema.json not found: is .* a prepare output"):
        trainer.run(str(tmp_path), str(tmp_path / "m"), train_steps=1)


def test_train_cli_trains_and_prints_where(tmp_path, penguins_examples, capsys):
    model_dir = tmp_path / "model"
    argv = ["train", "--examples", penguins_examples, "--model-dir", str(model_dir),
            "--train-steps", "10", "--iterations-per-loop", "5",
            "--params", "hidden_units=[4]", "--params", "learning_rate=0.05", "--seed", "3"]  # fmt: skip
    assert main(argv) == 0
    assert f"Model at {model_dir}: global_step=10" in capsys.readouterr().out
    record = json.loads((model_dir / artifacts.TRAINER_RESULT_FILE).read_text())
    assert record["params"] == {"hidden_units": [4], "learning_rate": 0.05}


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--train-steps", "0"], "--train-steps: must be a positive int, got 0"),
        (["--train-steps", "x"], "'x' is not an integer"),
        (["--train-steps", "5", "--train-batch-size", "-2"], "--train-batch-size: must be a pos"),
        (["--train-steps", "5", "--params", "foo"], "--params 'foo': expected key=value"),
        (["--train-steps", "5", "--params", "batch_size=4"], "must not set"),
        (["--train-steps", "5", "--strategy", "ring"], "invalid choice: 'ring'"),
        (
            ["--train-steps", "5", "--iterations-per-loop", "fast"],
            "--iterations-per-loop: 'fast' must be",
        ),
        (["--train-steps", "5", "--num-shards", "8"], "--num-shards: needs use_tpu"),
        (
            ["--train-steps", "5", "--use-tpu", "--replicas", "2"],
            "--use-tpu: trains on TPU shards (num_shards); drop replicas",
        ),
    ],
)
def test_bad_cli_values_exit_2(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit) as info:
        main(["train", "--examples", str(tmp_path), "--model-dir", str(tmp_path / "m"), *extra])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_failing_run_exits_1_with_one_line(tmp_path, penguins_examples, capsys):
    broken = tmp_path / "broken.py"
    broken.write_text('raise RuntimeError("boom at import")\n')
    argv = ["train", "--examples", penguins_examples, "--model-dir", str(tmp_path / "m"),
            "--train-steps", "1", "--module-file", str(broken)]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("tpuest train: error: ModuleFileError:") and "boom at import" in err
    assert "Traceback" not in err.splitlines()[0]


@pytest.mark.parametrize("command", ["train", "evaluate", "export"])
def test_help_has_an_example(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and f"tpuest {command} " in out


def test_replicas_from_the_cli_in_a_fresh_process(tmp_path, penguins_examples):
    # A fresh process has one CPU device: the trainer splits it into logical devices itself.
    argv = [sys.executable, "-m", "pipelines.tpuest", "train", "--examples", penguins_examples,
            "--model-dir", str(tmp_path / "m"), "--train-steps", "4", "--replicas", "2",
            "--train-batch-size", "8"]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "mirrored training over /cpu:0, /cpu:1" in proc.stderr
    assert "global_step=4" in proc.stdout


def test_multi_worker_leaves_the_strategy_to_the_engine(monkeypatch):
    from components.trainer.strategies import make_strategy

    cluster = {"worker": ["localhost:1", "localhost:2"]}
    monkeypatch.setenv("TF_CONFIG", json.dumps({"cluster": cluster, "task": {"index": 0}}))
    assert make_strategy("multi_worker") is None  # built from TF_CONFIG by the engine
    with pytest.raises(ValueError, match="replicas is per machine"):
        make_strategy("multi_worker", replicas=2)


class EngineReached(Exception):
    """Raised by the recording TPUEstimator: the trainer got as far as building its engine."""


@pytest.fixture
def engine_kwargs(monkeypatch):
    """The trainer's TPUEstimator replaced by a recorder of its arguments (no TPU is reached)."""
    calls = []

    def record(**kwargs):
        calls.append(kwargs)
        raise EngineReached("stopped before training")

    monkeypatch.setattr(components.trainer.train, "TPUEstimator", record)
    return calls


def assert_tpu_engine(calls):
    (kwargs,) = calls
    config = kwargs["config"]
    assert kwargs["use_tpu"] is True and config.master == "my-tpu"
    assert config.tpu_config.num_shards == 8 and config.train_distribute is None


def test_tpu_arguments_reach_the_engine(tmp_path, penguins_examples, engine_kwargs):
    with pytest.raises(EngineReached):
        trainer.run(penguins_examples, str(tmp_path / "m"), train_steps=1, use_tpu=True,
                    tpu="my-tpu", num_shards=8)  # fmt: skip
    assert_tpu_engine(engine_kwargs)


def test_tpu_flags_reach_the_engine(tmp_path, penguins_examples, engine_kwargs, capsys):
    argv = ["train", "--examples", penguins_examples, "--model-dir", str(tmp_path / "m"),
            "--train-steps", "1", "--use-tpu", "--tpu", "my-tpu", "--num-shards", "8"]  # fmt: skip
    assert main(argv) == 1
    assert "tpuest train: error: EngineReached" in capsys.readouterr().err
    assert_tpu_engine(engine_kwargs)


def test_kfp_component_tpu_and_time_budget_reach_the_engine(
    tmp_path, penguins_examples, engine_kwargs
):
    from kfp import dsl

    from components.trainer.component import trainer as trainer_op

    with pytest.raises(EngineReached):
        trainer_op.python_func(
            examples=dsl.Dataset(uri=penguins_examples),
            model=dsl.Model(uri=str(tmp_path / "m")),
            train_steps=1,
            iterations_per_loop_budget="30s",
            use_tpu=True,
            tpu="my-tpu",
            num_shards=8,
        )
    assert_tpu_engine(engine_kwargs)
    assert engine_kwargs[0]["config"].tpu_config.iterations_per_loop == "30s"
