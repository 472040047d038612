"""estimator_core.Estimator: the original tf.estimator.Estimator's contract and numbers."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

import estimator_core
from estimator_core import Estimator, EstimatorSpec, RunConfig

from . import plain_estimator_case as case
from .fakes import estimator

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "data", "legacy_reference.json")) as f:
    REFERENCE = json.load(f)["plain_estimator"]
v1 = tf.compat.v1


def assert_close(got, expected, path=""):
    if isinstance(expected, dict):
        assert sorted(got) == sorted(expected), path
        for key in expected:
            assert_close(got[key], expected[key], f"{path}/{key}")
    elif isinstance(expected, list) and expected and isinstance(expected[0], str):
        assert got == expected, path
    elif isinstance(expected, (list, float)):
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=path)
    else:
        assert got == expected, path


def test_plain_estimator_script_gives_the_originals_numbers_and_hook_calls(tmp_path):
    got = case.run(case.engine_api(), str(tmp_path))
    assert_close(got, REFERENCE)
    # One session.run per step, every hook called at every step.
    assert got["hook_calls"]["train"]["before_run"] == case.STEPS
    assert len(got["train_losses"]) == case.STEPS


def test_tpu_estimator_is_an_estimator(tmp_path):
    est = estimator(tmp_path)
    assert isinstance(est, Estimator)
    assert isinstance(est, estimator_core.TPUEstimator)
    assert estimator_core.tpu_estimator.TPUEstimator is estimator_core.TPUEstimator


def test_user_functions_take_any_subset_of_their_arguments(tmp_path):
    seen = {}

    def model_fn(features, mode, config, params):
        seen["params"] = dict(params)
        seen["config"] = config
        w = v1.get_variable("w", [case.D, 1], initializer=v1.zeros_initializer())
        loss = tf.reduce_mean(tf.square(tf.matmul(features["x"], w) - 1.0))
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=v1.train.get_global_step()
        )
        return EstimatorSpec(mode, loss=loss, train_op=train_op)

    def input_fn(params, mode, input_context):
        seen["input"] = (dict(params), mode, input_context.num_input_pipelines)
        x, _ = case.data()
        return tf.data.Dataset.from_tensor_slices({"x": x}).repeat().batch(4)

    est = Estimator(model_fn, model_dir=str(tmp_path), params={"lr": 0.1})
    est.train(input_fn, steps=2)
    # Params reach user code as given: the engine adds no batch_size, use_tpu or context.
    assert seen["params"] == {"lr": 0.1}
    assert seen["input"] == ({"lr": 0.1}, "train", 1)
    assert seen["config"].model_dir == str(tmp_path)
    assert est.get_variable_value("global_step") == 2
    assert est.latest_checkpoint().endswith("model.ckpt-2")
    assert est.eval_dir("dev") == os.path.join(str(tmp_path), "eval_dev")


def test_in_graph_loop_is_an_opt_in_with_the_same_numbers(tmp_path):
    runs = {}
    for name, loop in (("per_step", None), ("loop", 3)):
        counts = {}
        est = Estimator(
            case.make_model_fn(case.engine_api(), counts),
            config=RunConfig(model_dir=str(tmp_path / name), tf_random_seed=5),
            iterations_per_loop=loop,
        )
        est.train(case.train_input_fn, steps=6)
        runs[name] = (est.get_variable_value("logits/kernel"), counts["train"]["before_run"])
    np.testing.assert_allclose(runs["loop"][0], runs["per_step"][0], rtol=0, atol=1e-6)
    assert runs["per_step"][1] == 6
    assert runs["loop"][1] == 2  # hooks once per loop of 3 steps


def test_config_is_optional_and_distribution_is_referred_to_tpu_estimator(tmp_path):
    est = Estimator(case.make_model_fn(case.engine_api(), {}))
    assert os.path.isdir(est.model_dir)
    assert est.config.model_dir == est.model_dir
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with pytest.raises(ValueError, match="TPUEstimator"):
        Estimator(lambda features: None, config=RunConfig(train_distribute=strategy))


def test_run_config_takes_the_original_estimators_fields(tmp_path, caplog):
    placed = []

    def device_fn(op):
        placed.append(op.name)
        return "/cpu:0"

    config = RunConfig(
        model_dir=str(tmp_path),
        keep_checkpoint_every_n_hours=1,
        device_fn=device_fn,
        protocol="grpc",
        session_creation_timeout_secs=60,
        checkpoint_save_graph_def=False,
    )
    assert "argument 'protocol' is ignored" in caplog.text
    est = Estimator(case.make_model_fn(case.engine_api(), {}), config=config)
    est.train(case.train_input_fn, steps=1)
    assert "global_step" in placed and "hidden/kernel" in placed
    assert est.get_variable_value("global_step") == 1
