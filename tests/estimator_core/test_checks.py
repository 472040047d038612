"""One positive-int check (NumPy integers too) and one duration parser, used across the engine."""

import numpy as np
import pytest

from estimator_core import EvalSpec, RunConfig, TPUConfig, TrainSpec
from estimator_core.checks import duration_secs, non_negative_int, positive_int
from estimator_core.exporters import BestExporter, LatestExporter

from .fakes import estimator, train_input_fn


@pytest.mark.parametrize("value", [1, 64, np.int64(64), np.int32(3), np.uint8(7)])
def test_positive_int_takes_numpy_integers_and_returns_a_python_int(value):
    got = positive_int("n", value)
    assert got == value and type(got) is int


@pytest.mark.parametrize("value", [0, -1, np.int64(0), True, 2.0, "3", None])
def test_positive_int_refuses_naming_the_argument_and_value(value):
    with pytest.raises(ValueError, match=r"^n must be a positive int, got "):
        positive_int("n", value)


def test_optional_and_non_negative():
    assert positive_int("n", None, optional=True) is None
    with pytest.raises(ValueError, match="n must be a positive int or None, got 0"):
        positive_int("n", 0, optional=True)
    assert non_negative_int("k", np.int64(0)) == 0
    with pytest.raises(ValueError, match="k must be an int >= 0, got -1"):
        non_negative_int("k", -1)


@pytest.mark.parametrize(
    "text, seconds",
    [("90s", 90), ("15m", 900), ("6h", 21600), ("1d", 86400), (" 1.5 m ", 90), (".5s", 0.5)],
)
def test_duration_secs(text, seconds):
    assert duration_secs("every", text) == pytest.approx(seconds, abs=1e-9)


@pytest.mark.parametrize("text", ["6", "h", "-1m", "0s", "5x", "", "1e999s", "nan s", 30])
def test_duration_secs_refuses_naming_the_argument(text):
    with pytest.raises(ValueError, match=r"^every .* must be a positive duration"):
        duration_secs("every", text)


def test_configs_take_numpy_integers_and_store_python_ints():
    tpu = TPUConfig(np.int64(3), num_shards=np.int32(1))
    assert (tpu.iterations_per_loop, tpu.num_shards) == (3, 1)
    assert type(tpu.iterations_per_loop) is int and type(tpu.num_shards) is int
    run = RunConfig(
        save_checkpoints_steps=np.int64(5),
        keep_checkpoint_max=np.int64(0),
        tf_random_seed=np.int64(7),
        tpu_config=tpu,
    )
    assert (run.save_checkpoints_steps, run.keep_checkpoint_max, run.tf_random_seed) == (5, 0, 7)
    assert type(run.save_checkpoints_steps) is int and type(run.tf_random_seed) is int
    assert run.replace(save_checkpoints_steps=np.int64(9)).save_checkpoints_steps == 9
    with pytest.raises(ValueError, match="TPUConfig.iterations_per_loop '5' .* or a positive int"):
        TPUConfig("5")


def test_exporters_take_numpy_integers():
    assert LatestExporter("l", None, exports_to_keep=np.int64(2))._keep == 2
    assert BestExporter("b", None, exports_to_keep=None)._keep is None
    with pytest.raises(ValueError, match="exports_to_keep must be a positive int or None, got 0"):
        BestExporter("b", None, exports_to_keep=0)


def test_estimator_takes_numpy_batch_sizes_and_steps(tmp_path):
    est = estimator(tmp_path, batch=np.int64(8), iterations=np.int64(2))
    est.train(train_input_fn(), steps=np.int64(2))
    est.train(train_input_fn(), max_steps=np.int64(4))
    assert est.get_variable_value("global_step") == 4


def test_train_and_eval_specs_take_numpy_integers():
    assert TrainSpec(train_input_fn(), max_steps=np.int64(10)).max_steps == 10
    assert type(EvalSpec(train_input_fn(), steps=np.int32(3)).steps) is int
    with pytest.raises(ValueError, match="TrainSpec.max_steps must be a positive int or None"):
        TrainSpec(train_input_fn(), max_steps=0)
    with pytest.raises(ValueError, match="EvalSpec.steps must be a positive int or None, got 1.5"):
        EvalSpec(train_input_fn(), steps=1.5)
