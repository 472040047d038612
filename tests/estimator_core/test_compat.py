import logging

import pytest

from estimator_core import TPUEstimator as CoreEstimator
from estimator_core.compat import tpu

from .fakes import linear_model_fn, train_input_fn


def test_compat_namespace_has_the_legacy_names():
    for name in (
        "TPUEstimator",
        "TPUEstimatorSpec",
        "RunConfig",
        "TPUConfig",
        "InputPipelineConfig",
    ):
        assert hasattr(tpu, name)
    # The rest of tf.contrib.tpu comes from tf.compat.v1.tpu; unknown names say so.
    assert tpu.CrossShardOptimizer.__name__ == "CrossShardOptimizer"
    with pytest.raises(AttributeError, match="no 'TPUDistributionStrategy'"):
        tpu.TPUDistributionStrategy  # noqa: B018


def test_legacy_arguments_warn_once_each_or_fail(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="estimator_core")
    assert tpu.RunConfig(tpu_config=tpu.TPUConfig(5)).replace(model_dir="/m")
    assert "is ignored" not in caplog.text  # defaults say nothing
    config = tpu.RunConfig(
        model_dir=str(tmp_path),
        keep_checkpoint_every_n_hours=2,
        evaluation_master="grpc://10.0.0.3:8470",
        tpu_config=tpu.TPUConfig(
            5,
            input_partition_dims=[[1, 2]],
            tpu_job_name="tpu_worker",
            initial_infeed_sleep_secs=3,
            eval_training_input_configuration=tpu.InputPipelineConfig.SLICED,
        ),
    )
    est = tpu.TPUEstimator(
        linear_model_fn,
        config=config,
        use_tpu=False,
        train_batch_size=8,
        export_to_tpu=False,
        eval_on_tpu=False,
    )
    assert isinstance(est, CoreEstimator)
    est.train(train_input_fn(), steps=2)  # the estimator copies its config: no second warning
    for name in (
        "keep_checkpoint_every_n_hours",
        "input_partition_dims",
        "export_to_tpu",
        "eval_on_tpu",
        "tpu_job_name",
        "initial_infeed_sleep_secs",
        "eval_training_input_configuration",
        "evaluation_master",
    ):
        assert caplog.text.count(f"'{name}' is ignored") == 1, name
    assert "'tpu_job_name' is ignored: the TPU and its job come from the cluster" in caplog.text
    config.replace(evaluation_master="grpc://other")  # set again: said again
    assert caplog.text.count("'evaluation_master' is ignored") == 2
    with pytest.raises(ValueError, match="embedding_config_spec.*not supported"):
        tpu.TPUEstimator(
            linear_model_fn, config=config, use_tpu=False, embedding_config_spec=object()
        )
    with pytest.raises(TypeError, match="no_such_arg"):
        tpu.TPUEstimator(linear_model_fn, config=config, use_tpu=False, no_such_arg=1)
