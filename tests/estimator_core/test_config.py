import pytest
import tensorflow as tf

from estimator_core import InputPipelineConfig, RunConfig, TPUConfig


def test_tpu_config_positional_order_matches_original():
    config = TPUConfig(100, 8)
    assert config.iterations_per_loop == 100
    assert config.num_shards == 8
    assert config.per_host_input_for_training is True


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"iterations_per_loop": 0}, "iterations_per_loop"),
        ({"iterations_per_loop": "ten"}, "iterations_per_loop"),
        ({"num_shards": -1}, "num_shards"),
        ({"num_cores_per_replica": 0}, "num_cores_per_replica"),
        ({"per_host_input_for_training": 7}, "per_host_input_for_training"),
        ({"eval_training_input_configuration": 99}, "eval_training_input_configuration"),
    ],
)
def test_tpu_config_rejects_bad_values_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TPUConfig(**kwargs)


def test_per_host_input_accepts_bool_and_enum():
    assert (
        TPUConfig(per_host_input_for_training=InputPipelineConfig.PER_SHARD_V1).per_host_input
        is False
    )
    assert (
        TPUConfig(per_host_input_for_training=InputPipelineConfig.PER_HOST_V2).per_host_input
        is True
    )
    assert TPUConfig(per_host_input_for_training=False).per_host_input is False


def test_time_budget_iterations():
    assert TPUConfig("30s").loop_time_budget == 30
    assert TPUConfig("5m").loop_time_budget == 300
    assert TPUConfig(10).loop_time_budget is None


def test_run_config_checks_and_replace():
    with pytest.raises(ValueError, match="save_checkpoints_steps"):
        RunConfig(save_checkpoints_steps=10, save_checkpoints_secs=10)
    with pytest.raises(ValueError, match="keep_checkpoint_max"):
        RunConfig(keep_checkpoint_max=-1)
    config = RunConfig(model_dir="/a", session_config=tf.compat.v1.ConfigProto())
    assert config.replace(model_dir="/b").model_dir == "/b"
    assert config.model_dir == "/a"
    assert RunConfig().checkpoint_every == (None, 600)


def test_run_config_reads_tf_config(monkeypatch):
    monkeypatch.setenv(
        "TF_CONFIG",
        '{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 1}}',
    )
    config = RunConfig()
    assert config.num_worker_replicas == 2
    assert config.is_chief is False
    monkeypatch.setenv(
        "TF_CONFIG", '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 0}}'
    )
    assert RunConfig().is_chief is True
