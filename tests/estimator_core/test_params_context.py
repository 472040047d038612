"""params as the original filled them: `use_tpu` overwritten, `context` a TPUContext."""

import pytest
import tensorflow as tf

from estimator_core import InputPipelineConfig, ModeKeys, RunConfig, TPUConfig, TPUEstimator
from estimator_core.tpu_context import TPUContext

from .fakes import data, estimator, finite_input_fn, linear_model_fn
from .test_replication import mirrored


def recording(seen):
    def model_fn(features, labels, mode, params):
        seen.setdefault(("model_fn", mode), []).append(dict(params))
        return linear_model_fn(features, labels, mode, params)

    return model_fn


def recording_input(seen, x, y):
    def input_fn(params):
        seen.setdefault("input_fn", []).append(dict(params))
        context = params["context"]
        # ResNet-style TPUContext code and tf.distribute-style InputContext code, side by side.
        _, index, invocations, replicas = context.current_input_fn_deployment()
        assert invocations == context.num_hosts * context.num_of_replicas_per_host // replicas
        assert context.num_input_pipelines == context.num_hosts
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).shard(invocations, index)
        return ds.repeat().batch(params["batch_size"])

    return input_fn


def test_a_user_use_tpu_is_accepted_and_overwritten_with_where_the_call_runs(tmp_path):
    seen = {}
    est = estimator(tmp_path, recording(seen), params={"use_tpu": True, "lr": 0.1})
    x, y = data()
    est.train(recording_input(seen, x, y), steps=2)
    est.evaluate(finite_input_fn(x, y))
    assert list(est.predict(finite_input_fn(x, labels=False)))
    for params in [*seen["input_fn"], *seen[("model_fn", "train")], *seen[("model_fn", "eval")]]:
        assert params["use_tpu"] is False and params["lr"] == 0.1
    # Off TPU, model_fn gets no context (as with the original); input_fn always gets one.
    assert "context" not in seen[("model_fn", "train")][0]
    assert isinstance(seen["input_fn"][0]["context"], TPUContext)
    assert est.params == {"use_tpu": True, "lr": 0.1}


def test_input_fn_context_has_the_tpucontext_and_inputcontext_api(tmp_path):
    seen = {}
    x, y = data()
    est = estimator(tmp_path, linear_model_fn, batch=8)
    est.train(recording_input(seen, x, y), steps=2)
    context = seen["input_fn"][0]["context"]
    assert isinstance(context, tf.distribute.InputContext)
    device, index, invocations, replicas = context.current_input_fn_deployment()
    assert (index, invocations, replicas) == (0, 1, 1) and "CPU:0" in device
    assert (context.num_hosts, context.current_host, context.num_replicas) == (1, 0, 1)
    assert (context.num_of_replicas_per_host, context.num_of_cores_per_host) == (1, 1)
    assert (context.input_pipeline_id, context.num_input_pipelines) == (0, 1)
    assert context.get_per_replica_batch_size(8) == 8
    assert context.is_running_on_cpu() is True
    assert context.mode == ModeKeys.TRAIN
    assert (context.batch_size, context.global_batch_size) == (8, 8)
    with pytest.raises(RuntimeError, match="only available in model_fn"):
        _ = context.device_assignment


def test_per_shard_input_fn_calls_are_numbered_one_per_replica(tmp_path):
    seen = {}
    x, y = data()
    config = RunConfig(
        model_dir=str(tmp_path),
        train_distribute=mirrored(2),
        tpu_config=TPUConfig(2, per_host_input_for_training=InputPipelineConfig.PER_SHARD_V1),
    )
    est = TPUEstimator(linear_model_fn, config=config, use_tpu=False, train_batch_size=16)
    est.train(recording_input(seen, x, y), steps=2)
    deployments = [p["context"].current_input_fn_deployment()[1:] for p in seen["input_fn"]]
    assert deployments == [(0, 2, 1), (1, 2, 1)]
    assert [p["batch_size"] for p in seen["input_fn"]] == [8, 8]
    context = seen["input_fn"][0]["context"]
    assert (context.num_replicas, context.global_batch_size) == (2, 16)
    assert context.get_per_replica_batch_size(16) == 8
