"""components.trainer.tfx.run_fn on TFX's own FnArgs: train, eval, serving export, resume,
warm start from base_model, a user model module, and the errors that name the problem."""

from __future__ import annotations

import glob
import json
import os
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from components.trainer.tfx import run_fn

STEPS = 60


def _fn_args(examples: str, out: str, steps: int = STEPS, **fields):
    from tfx.components.trainer.fn_args_utils import FnArgs

    custom_config = {"label": "species", "seed": 0, **fields.pop("custom_config", {})}
    return FnArgs(
        working_dir=f"{out}/working",
        train_files=[f"{examples}/Split-train/*"],
        eval_files=[f"{examples}/Split-eval/*"],
        train_steps=steps,
        eval_steps=None,
        serving_model_dir=f"{out}/model/Format-Serving",
        model_run_dir=f"{out}/model_run",
        custom_config=custom_config,
        **fields,
    )


def _serialized_eval_examples(examples: str, n: int = 8) -> list[bytes]:
    files = sorted(glob.glob(f"{examples}/Split-eval/*.gz"))
    dataset = tf.data.TFRecordDataset(files, compression_type="GZIP").take(n)
    return [record.numpy() for record in dataset]


def _trainer_record(fn_args) -> dict:
    with open(f"{fn_args.model_run_dir}/trainer.json") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def trained(prepared, tmp_path_factory):
    fn_args = _fn_args(prepared, str(tmp_path_factory.mktemp("run_fn")))
    run_fn(fn_args)
    return fn_args


def test_run_fn_writes_checkpoints_events_and_a_serving_model_where_tfx_reads_it(trained, prepared):
    run_dir = trained.model_run_dir
    assert tf.train.latest_checkpoint(run_dir).endswith(f"model.ckpt-{STEPS}")
    assert glob.glob(f"{run_dir}/events.out.tfevents.*")
    assert glob.glob(f"{run_dir}/eval/events.out.tfevents.*")  # the evaluation's summaries
    assert os.path.isfile(f"{trained.serving_model_dir}/saved_model.pb")  # no version subdir
    model = tf.saved_model.load(trained.serving_model_dir)
    assert {"serving_default", "classification"} <= set(model.signatures)
    serialized = _serialized_eval_examples(prepared)
    out = model.signatures["serving_default"](examples=tf.constant(serialized))
    assert out["probabilities"].shape == (len(serialized), 3)
    np.testing.assert_allclose(out["probabilities"].numpy().sum(axis=1), 1.0, atol=1e-5)
    classes = {c.decode() for c in out["classes"].numpy()}
    assert classes <= {"Adelie", "Chinstrap", "Gentoo"}
    record = _trainer_record(trained)
    assert record["global_step"] == STEPS and record["started_at_step"] == 0


def test_a_retried_trainer_resumes_from_model_run_dir(prepared, tmp_path):
    fn_args = _fn_args(prepared, str(tmp_path), steps=20)
    run_fn(fn_args)
    first = os.path.getmtime(f"{fn_args.serving_model_dir}/saved_model.pb")
    retried = _fn_args(prepared, str(tmp_path), steps=30)  # same URIs, as a TFX retry has
    run_fn(retried)
    record = _trainer_record(retried)
    assert record["started_at_step"] == 20 and record["global_step"] == 30
    assert os.path.getmtime(f"{retried.serving_model_dir}/saved_model.pb") >= first
    assert not os.path.exists(f"{retried.model_run_dir}/export-tmp")


def test_base_model_warm_starts_a_new_model(trained, prepared, tmp_path):
    fn_args = _fn_args(
        prepared,
        str(tmp_path),
        steps=1,
        base_model=trained.serving_model_dir,
        custom_config={"params": {"learning_rate": 1e-12}},
    )
    run_fn(fn_args)
    base = tf.train.load_checkpoint(f"{trained.serving_model_dir}/variables/variables")
    warm = tf.train.load_checkpoint(tf.train.latest_checkpoint(fn_args.model_run_dir))
    for name in ("hidden_0/kernel", "logits/bias"):
        np.testing.assert_allclose(warm.get_tensor(name), base.get_tensor(name), atol=1e-6)
    assert _trainer_record(fn_args)["started_at_step"] == 0  # a new model, not a resume


def test_a_user_model_module_from_custom_config(prepared, tmp_path):
    module = tmp_path / "linear_model.py"
    module.write_text(
        textwrap.dedent(
            """
            import tensorflow as tf
            from estimator_core import ModeKeys, TPUEstimatorSpec

            v1 = tf.compat.v1
            params = {"learning_rate": 0.05}
            CLASSES = ["Adelie", "Chinstrap", "Gentoo"]

            def model_fn(features, labels, mode, params):
                x = tf.stack([tf.where(tf.math.is_nan(features[k]), 0.0, features[k]) / 100.0
                              for k in ("bill_length_mm", "flipper_length_mm")], axis=1)
                logits = tf.matmul(x, v1.get_variable("w", [2, 3])) + v1.get_variable("b", [3])
                predictions = {"class_ids": tf.argmax(logits, 1),
                               "probabilities": tf.nn.softmax(logits)}
                if mode == ModeKeys.PREDICT:
                    return TPUEstimatorSpec(mode, predictions=predictions)
                ids = tf.argmax(tf.cast(tf.equal(tf.expand_dims(labels, 1), CLASSES), tf.int32), 1)
                loss = v1.losses.sparse_softmax_cross_entropy(ids, logits)
                train_op = v1.train.GradientDescentOptimizer(params["learning_rate"]).minimize(
                    loss, global_step=v1.train.get_global_step())
                return TPUEstimatorSpec(mode, loss=loss, train_op=train_op)
            """
        )
    )
    fn_args = _fn_args(
        prepared, str(tmp_path), steps=5, custom_config={"model_module": str(module)}
    )
    run_fn(fn_args)
    record = _trainer_record(fn_args)
    assert record["module_file"] == str(module) and record["global_step"] == 5
    model = tf.saved_model.load(fn_args.serving_model_dir)
    out = model.signatures["serving_default"](
        examples=tf.constant(_serialized_eval_examples(prepared, 4))
    )
    assert out["probabilities"].shape == (4, 3)


def test_the_schema_can_come_from_schema_pbtxt(prepared, tmp_path):
    fn_args = _fn_args(prepared, str(tmp_path), steps=5, schema_path=f"{prepared}/schema.pbtxt")
    run_fn(fn_args)
    with open(f"{fn_args.model_run_dir}/schema.json") as f, open(f"{prepared}/schema.json") as g:
        assert json.load(f) == json.load(g)


def test_bad_fn_args_name_the_problem(prepared, tmp_path):
    with pytest.raises(ValueError, match=r"unknown keys \['learning_rate'\]"):
        run_fn(_fn_args(prepared, str(tmp_path), custom_config={"learning_rate": 0.1}))
    with pytest.raises(ValueError, match="train_steps must be set"):
        run_fn(_fn_args(prepared, str(tmp_path), steps=None))
    bad = _fn_args(prepared, str(tmp_path))
    bad.train_files = [f"{prepared}/Split-eval/*"]
    with pytest.raises(ValueError, match="is not a Split-train/ directory"):
        run_fn(bad)
    with pytest.raises(ValueError, match="label 'kind' is not a feature"):
        run_fn(
            _fn_args(
                prepared,
                str(tmp_path),
                schema_path=f"{prepared}/schema.pbtxt",
                custom_config={"label": "kind"},
            )
        )
    with pytest.raises(FileNotFoundError, match="no SavedModel variables"):
        run_fn(_fn_args(prepared, str(tmp_path), base_model=str(tmp_path)))


def test_a_saved_model_is_copied_into_place_on_filesystems_without_directory_rename():
    from components.trainer.tfx import _place_saved_model

    source, target = "ram://tpuest-export/1700000000", "ram://tpuest-model/Format-Serving"
    files = {"saved_model.pb": b"graph", "variables/variables.index": b"index"}
    for name, payload in files.items():
        tf.io.gfile.makedirs(os.path.dirname(f"{source}/{name}"))
        with tf.io.gfile.GFile(f"{source}/{name}", "wb") as f:
            f.write(payload)
    tf.io.gfile.makedirs(target)  # a retried attempt's leftovers are replaced
    with tf.io.gfile.GFile(f"{target}/stale.txt", "w") as f:
        f.write("old")
    _place_saved_model(source, target)
    for name, payload in files.items():
        with tf.io.gfile.GFile(f"{target}/{name}", "rb") as f:
            assert f.read() == payload
    assert not tf.io.gfile.exists(f"{target}/stale.txt")
    assert not tf.io.gfile.exists(f"{source}/saved_model.pb")
