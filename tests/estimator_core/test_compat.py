import logging
import textwrap

import pytest

from components.cli import main
from estimator_core import TPUEstimator as CoreEstimator
from estimator_core.check_model import check_source
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


LEGACY_SOURCE = textwrap.dedent(
    """
    import tensorflow as tf
    from tensorflow.contrib.tpu.python.tpu import tpu_estimator  # old import
    def model_fn(features, labels, mode, params):
        x = tf.layers.dense(features, 10)
        loss = tf.losses.softmax_cross_entropy(labels, x)
        opt = tf.train.AdamOptimizer(0.1)
        if mode == tf.estimator.ModeKeys.TRAIN:
            return tf.contrib.tpu.TPUEstimatorSpec(mode, loss=loss)
        # tf.contrib in a comment is fine
        y = tf.compat.v1.layers.dense(x, 2)
    """
)


def test_check_model_finds_each_removed_api_with_advice():
    findings = {f.line: f for f in check_source(LEGACY_SOURCE)}
    assert findings[3].api == "tensorflow.contrib.tpu"
    assert findings[5].api == "tf.layers"
    assert findings[6].api == "TF1 tf.metrics / tf.losses"
    assert findings[7].api == "TF1 tf.train optimizer"
    assert (
        findings[8].api == "tf.estimator.ModeKeys"
        and "estimator_core.ModeKeys" in findings[8].advice
    )
    assert findings[9].api == "tf.contrib.tpu"
    assert 10 not in findings
    assert (
        findings[11].api == "tf.compat.v1.layers" and "TF_USE_LEGACY_KERAS" in findings[11].advice
    )


def test_check_model_cli(tmp_path, capsys):
    module = tmp_path / "legacy_model.py"
    module.write_text(LEGACY_SOURCE)
    assert main(["check-model", str(module)]) == 0
    out = capsys.readouterr().out
    assert f"{module}:5: tf.layers" in out and "7 use(s)" in out
    assert main(["check-model", str(module), "--strict"]) == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["check-model", str(tmp_path / "missing.py")])
    assert exit_info.value.code == 2
