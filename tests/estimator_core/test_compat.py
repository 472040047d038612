import logging
import textwrap

import pytest

from pipelines.tpuest import main
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
    from tensorflow.estimator import RunConfig
    from tensorflow.contrib import slim
    import tensorflow.compat.v1 as tf
    from tensorflow.compat.v1 import estimator as est
    from tensorflow.compat.v1.layers import dense
    x = tf.layers.dense(a, 1); y = tf.contrib.layers.flatten(x)
    z = tf.compat.v1.estimator.tpu.TPUEstimator(m)
    s = "tf.contrib in a string"
    tf.estimator.Estimator(m)
    import tensorflow_estimator
    """
)


def test_check_model_finds_each_removed_api_with_advice():
    findings = check_source(LEGACY_SOURCE)
    by_line = {}
    for finding in findings:
        by_line.setdefault(finding.line, []).append(finding.api)
    assert by_line == {
        3: ["tensorflow.contrib.tpu"],  # once: the general tf.contrib rule does not repeat it
        5: ["tf.layers"],
        6: ["TF1 tf.metrics / tf.losses"],
        7: ["TF1 tf.train optimizer"],
        8: ["tf.estimator.ModeKeys"],
        9: ["tf.contrib.tpu"],
        11: ["tf.compat.v1.layers"],
        12: ["tf.estimator"],
        13: ["tf.contrib"],
        15: ["tf.estimator"],
        16: ["tf.compat.v1.layers"],
        17: ["tf.layers", "tf.contrib"],  # every rule that matches the line, in line order
        18: ["tf.estimator.tpu"],
        20: ["tf.estimator"],
        21: ["tensorflow_estimator"],
    }  # nothing for the comment (10) or the string (19)
    advice = {(f.line, f.api): f.advice for f in findings}
    assert "estimator_core.ModeKeys" in advice[8, "tf.estimator.ModeKeys"]
    assert "TF_USE_LEGACY_KERAS" in advice[11, "tf.compat.v1.layers"]
    assert "TF_USE_LEGACY_KERAS" in advice[16, "tf.compat.v1.layers"]
    assert "estimator_core" in advice[21, "tensorflow_estimator"]


def test_check_model_cli(tmp_path, capsys):
    module = tmp_path / "legacy_model.py"
    module.write_text(LEGACY_SOURCE)
    assert main(["check-model", str(module)]) == 0
    out = capsys.readouterr().out
    assert f"{module}:5: tf.layers" in out and "16 use(s)" in out
    assert main(["check-model", str(module), "--strict"]) == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["check-model", str(tmp_path / "missing.py")])
    assert exit_info.value.code == 2


def test_check_model_cli_takes_an_importable_module_name(tmp_path, monkeypatch, capsys):
    package = tmp_path / "legacy_pkg_for_check"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "model.py").write_text(LEGACY_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["check-model", "legacy_pkg_for_check.model", "--strict"]) == 1
    out = capsys.readouterr().out
    assert f"{package / 'model.py'}:17: tf.contrib" in out and "16 use(s)" in out
    with pytest.raises(SystemExit) as exit_info:
        main(["check-model", "legacy_pkg_for_check.no_such_model"])
    assert exit_info.value.code == 2
