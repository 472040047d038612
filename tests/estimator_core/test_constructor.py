import logging
import os

import pytest

from estimator_core import RunConfig, TPUConfig, TPUEstimator, tpu_estimator

from .fakes import estimator, finite_input_fn, linear_model_fn, train_input_fn


def test_legacy_module_path_exposes_the_api():
    assert tpu_estimator.TPUEstimator is TPUEstimator
    from estimator_core import TPUEstimatorSpec

    assert tpu_estimator.TPUEstimatorSpec is TPUEstimatorSpec


def test_config_is_required():
    with pytest.raises(ValueError, match="config"):
        TPUEstimator(model_fn=linear_model_fn, use_tpu=False)


def test_model_dir_conflict_and_temp_dir(tmp_path, caplog):
    with pytest.raises(ValueError, match="differ"):
        TPUEstimator(
            linear_model_fn,
            model_dir=str(tmp_path / "a"),
            config=RunConfig(model_dir=str(tmp_path / "b")),
            use_tpu=False,
        )
    with caplog.at_level(logging.INFO, logger="estimator_core"):
        est = TPUEstimator(linear_model_fn, config=RunConfig(), use_tpu=False)
    assert os.path.isdir(est.model_dir)
    assert f"using temporary directory {est.model_dir}" in caplog.text
    assert est.config.model_dir == est.model_dir
    same = TPUEstimator(
        linear_model_fn,
        model_dir=str(tmp_path / "a"),
        config=RunConfig(model_dir=str(tmp_path / "a") + "/"),
        use_tpu=False,
    )
    assert same.model_dir == str(tmp_path / "a")


@pytest.mark.parametrize("key", ["batch_size", "context"])
def test_reserved_params_are_rejected_by_name(tmp_path, key):
    with pytest.raises(ValueError, match=key):
        estimator(tmp_path, params={key: 1})


def test_batch_size_rules(tmp_path):
    with pytest.raises(ValueError, match="train_batch_size cannot be None"):
        TPUEstimator(linear_model_fn, config=RunConfig(model_dir=str(tmp_path)), use_tpu=True)
    with pytest.raises(ValueError, match=r"train_batch_size \(10\).*num_shards \(4\)"):
        TPUEstimator(
            linear_model_fn,
            config=RunConfig(model_dir=str(tmp_path), tpu_config=TPUConfig(2, 4)),
            use_tpu=True,
            train_batch_size=10,
        )
    for name in ("train_batch_size", "eval_batch_size", "predict_batch_size"):
        for bad in (0, -8, 2.5, True):
            with pytest.raises(ValueError, match=name):
                estimator(tmp_path, **{name: bad})


def test_model_fn_signature_is_checked(tmp_path):
    def bad(features, labels, extra):
        pass

    with pytest.raises(ValueError, match="extra"):
        estimator(tmp_path, model_fn=bad)
    with pytest.raises(ValueError, match="features"):
        estimator(tmp_path, model_fn=lambda labels, mode: None)


def test_properties_and_bound_model_fn(tmp_path):
    seen = {}

    def model_fn(features, mode, params):
        seen.update(params)
        return "spec"

    est = estimator(tmp_path, model_fn=model_fn, params={"lr": 0.5}, batch=16)
    assert est.params == {"lr": 0.5}
    assert est.model_dir == str(tmp_path)
    assert est.model_fn({"x": 1}, None, "train", est.config) == "spec"
    assert seen["batch_size"] == 16 and seen["lr"] == 0.5
    assert "batch_size" not in est.params


def test_each_mode_sees_its_own_batch_size(tmp_path):
    seen = {"input_fn": [], "model_fn": []}

    def model_fn(features, labels, mode, params):
        seen["model_fn"].append((mode, params["batch_size"]))
        return linear_model_fn(features, labels, mode, params)

    def recording(input_fn):
        def wrapped(params):
            seen["input_fn"].append(params["batch_size"])
            return input_fn(params)

        return wrapped

    est = estimator(
        tmp_path,
        model_fn=model_fn,
        train_batch_size=8,
        eval_batch_size=5,
        predict_batch_size=3,
    )
    est.train(recording(train_input_fn()), steps=2)
    est.evaluate(recording(finite_input_fn()))
    next(est.predict(recording(finite_input_fn(labels=False))))
    assert seen["input_fn"] == [8, 5, 3]
    assert seen["model_fn"] == [("train", 8), ("eval", 5), ("infer", 3)]


def test_variable_getters_need_a_checkpoint(tmp_path):
    est = estimator(tmp_path)
    assert est.latest_checkpoint() is None
    with pytest.raises(ValueError, match="checkpoint"):
        est.get_variable_names()
    with pytest.raises(ValueError, match="checkpoint"):
        est.get_variable_value("w")
