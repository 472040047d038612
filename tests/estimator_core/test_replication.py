"""Replication off TPU: MirroredStrategy over logical CPUs behaves like one device."""

import logging

import numpy as np
import pytest
import tensorflow as tf

from estimator_core import (
    InputPipelineConfig,
    NanLossError,
    RunConfig,
    TPUConfig,
    TPUEstimator,
    TPUEstimatorSpec,
)

from .fakes import data, finite_input_fn, linear_model_fn, train_input_fn
from .test_train import CountingHook, nan_model_fn, steps_of

v1 = tf.compat.v1


def mirrored(n):
    return tf.distribute.MirroredStrategy(devices=[f"/cpu:{i}" for i in range(n)])


def make(
    model_dir,
    replicas,
    batch=64,
    model_fn=linear_model_fn,
    iterations=10,
    per_host=True,
    batch_axis=None,
    **config,
):
    strategy = mirrored(replicas) if replicas > 1 else None
    run_config = RunConfig(
        model_dir=str(model_dir),
        train_distribute=strategy,
        tf_random_seed=1,
        tpu_config=TPUConfig(iterations, per_host_input_for_training=per_host),
        **config,
    )
    return TPUEstimator(
        model_fn,
        config=run_config,
        use_tpu=False,
        train_batch_size=batch,
        eval_batch_size=batch,
        predict_batch_size=batch,
        batch_axis=batch_axis,
    )


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    x, y = data(n=256)
    est = make(tmp_path_factory.mktemp("one"), 1)
    est.train(train_input_fn(x, y), max_steps=50)
    return est


def test_four_replicas_match_one_device_in_training_and_evaluation(tmp_path, one_device):
    x, y = data(n=256)
    est = make(tmp_path, 4)
    est.train(train_input_fn(x, y), max_steps=50)
    assert est.last_train_result["loss"] == pytest.approx(
        one_device.last_train_result["loss"], rel=1e-5, abs=1e-6
    )
    np.testing.assert_allclose(
        est.get_variable_value("w"), one_device.get_variable_value("w"), rtol=1e-5, atol=1e-6
    )
    # 101 examples: the last batch of 37 splits unevenly over 4 replicas; each example counts once.
    ex, ey = x[:101], y[:101]
    got = est.evaluate(finite_input_fn(ex, ey))
    want = one_device.evaluate(finite_input_fn(ex, ey))
    assert got == pytest.approx(want, rel=1e-5, abs=1e-6)


def test_predict_on_replicas_yields_one_prediction_per_input_in_order(tmp_path, one_device):
    x, _ = data(n=70, seed=11)
    est = make(one_device.model_dir, 4)
    got = np.stack([p["logits"] for p in est.predict(finite_input_fn(x, labels=False))])
    w, b = one_device.get_variable_value(["w", "b"])
    assert got.shape == (70, 3)
    np.testing.assert_allclose(got, x @ w + b, rtol=1e-5, atol=1e-6)


def test_global_batch_must_divide_by_replicas(tmp_path):
    with pytest.raises(ValueError, match=r"train_batch_size \(30\).*replicas \(4\)"):
        make(tmp_path, 4, batch=30)


def test_per_shard_input_calls_input_fn_per_replica_with_shard_batch(tmp_path):
    x, y = data(n=256)
    calls = []

    def input_fn(params):
        calls.append(params["batch_size"])
        return (
            tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(params["batch_size"])
        )

    make(tmp_path / "shard", 2, per_host=InputPipelineConfig.PER_SHARD_V1).train(input_fn, steps=4)
    assert calls == [32, 32]
    calls.clear()
    make(tmp_path / "host", 2, per_host=InputPipelineConfig.PER_HOST_V2).train(input_fn, steps=4)
    assert calls == [64]


def test_batch_axis_splits_each_tensor_on_its_own_axis(tmp_path, one_device):
    x, y = data(n=256)

    def transposed_input_fn(params):
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(params["batch_size"])
        return ds.map(lambda f, lab: ({"xt": tf.transpose(f["x"])}, lab))

    def model_fn(features, labels, mode, params):
        return linear_model_fn({"x": tf.transpose(features["xt"])}, labels, mode, params)

    est = make(tmp_path, 4, model_fn=model_fn, batch_axis=(1, 0))
    est.train(transposed_input_fn, max_steps=50)
    np.testing.assert_allclose(
        est.get_variable_value("w"), one_device.get_variable_value("w"), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(ValueError, match="gives 1 axes but input_fn produced 2"):
        make(tmp_path / "bad", 4, model_fn=model_fn, batch_axis=(1,)).train(
            transposed_input_fn, steps=1
        )


def test_hooks_checkpoints_resume_and_nan_stop_under_a_strategy(tmp_path):
    hook = CountingHook()
    est = make(tmp_path, 2, batch=16, iterations=4, save_checkpoints_steps=4)
    est.train(train_input_fn(), hooks=[hook], max_steps=10)
    assert hook.calls == {"begin": 1, "before": 3, "after": 3, "end": 1}
    assert steps_of(tmp_path)[-1] == 10
    make(tmp_path, 2, batch=16, iterations=4).train(train_input_fn(), steps=2)
    assert est.get_variable_value("global_step") == 12
    nan = make(
        tmp_path / "nan", 2, batch=16, model_fn=nan_model_fn, iterations=4, save_checkpoints_steps=4
    )
    with pytest.raises(NanLossError, match="global step 7"):
        nan.train(train_input_fn(), max_steps=20)
    assert steps_of(tmp_path / "nan")[-1] == 4


def test_num_shards_is_ignored_without_tpu(tmp_path, caplog):
    config = RunConfig(model_dir=str(tmp_path), tpu_config=TPUConfig(2, 8))
    with caplog.at_level(logging.INFO, logger="estimator_core"):
        est = TPUEstimator(linear_model_fn, config=config, use_tpu=False, train_batch_size=12)
    assert "num_shards=8 is ignored" in caplog.text
    est.train(train_input_fn(), steps=2)
    assert est.get_variable_value("global_step") == 2


def test_shards_keep_static_feature_dims_so_keras_layers_build_under_a_strategy(tmp_path):
    # An input_fn without drop_remainder has an unknown batch dim; each replica's shard must
    # still know its feature dim, or a Keras Dense cannot create its kernel.
    x, y = data(n=256)

    def keras_model_fn(features, labels, mode, params):
        logits = tf.keras.layers.Dense(3)(features["x"])
        loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
        train_op = v1.train.GradientDescentOptimizer(0.1).minimize(
            loss, global_step=v1.train.get_global_step()
        )
        return TPUEstimatorSpec(mode, loss=loss, train_op=train_op)

    def input_fn(params):
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat()
        return ds.batch(params["batch_size"])  # batch dim None

    est = make(tmp_path, 2, model_fn=keras_model_fn, iterations=5)
    est.train(input_fn, max_steps=10)
    kernel = [n for n, _ in tf.train.list_variables(est.model_dir) if n.endswith("kernel")]
    assert kernel and est.get_variable_value(kernel[0]).shape == (x.shape[1], 3)
    assert est.get_variable_value("global_step") == 10
