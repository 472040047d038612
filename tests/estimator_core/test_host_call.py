"""TPUEstimatorSpec.host_call: fn runs on the host with tensors gathered from every shard."""

import glob

import numpy as np
import pytest
import tensorflow as tf

from .fakes import estimator, linear_model_fn, train_input_fn
from .test_replication import make

v1 = tf.compat.v1


def host_call_model_fn(model_dir):
    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        with tf.control_dependencies([spec.train_op]):  # read after this step's increment
            gs = tf.reshape(tf.identity(v1.train.get_global_step()), [1])
        batch_loss = tf.reshape(spec.loss, [1])
        per_example = tf.reduce_sum(spec.predictions["logits"], axis=1)

        def host_call(gs, loss, per_example):
            writer = tf.summary.create_file_writer(model_dir + "/host")
            with writer.as_default(), tf.summary.record_if(True):
                # tf.summary.write needs no TensorBoard install (tf.summary.scalar does).
                tf.summary.write("host_loss", tf.reduce_mean(loss), step=gs[0])
                tf.summary.write("examples", tf.size(per_example), step=gs[0])
                return v1.summary.all_v2_summary_ops()

        return spec._replace(host_call=(host_call, [gs, batch_loss, per_example]))

    return model_fn


def host_scalars(model_dir):
    values = {}
    for path in glob.glob(f"{model_dir}/host/events.out.tfevents.*"):
        for event in v1.train.summary_iterator(path):
            for value in event.summary.value:
                number = (
                    float(tf.make_ndarray(value.tensor))
                    if value.HasField("tensor")
                    else value.simple_value
                )
                values.setdefault(value.tag, []).append((event.step, number))
    return values


def test_host_call_runs_once_per_loop_with_the_last_steps_tensors(tmp_path):
    est = estimator(tmp_path, model_fn=host_call_model_fn(str(tmp_path)), iterations=5, batch=8)
    est.train(train_input_fn(), steps=15)
    scalars = host_scalars(tmp_path)
    # Written after each loop, with the global step reached by the loop's last step.
    assert [step for step, _ in scalars["examples"]] == [5, 10, 15]
    assert all(n == 8 for _, n in scalars["examples"])
    assert np.isfinite([v for _, v in scalars["host_loss"]]).all()


def test_host_call_runs_every_step_when_each_loop_is_one_step(tmp_path):
    est = estimator(tmp_path, model_fn=host_call_model_fn(str(tmp_path)), iterations=1, batch=8)
    est.train(train_input_fn(), steps=3)
    assert [step for step, _ in host_scalars(tmp_path)["examples"]] == [1, 2, 3]


def test_host_call_gathers_tensors_from_every_replica(tmp_path):
    est = make(tmp_path, 4, batch=32, model_fn=host_call_model_fn(str(tmp_path)), iterations=5)
    est.train(train_input_fn(), steps=10)
    scalars = host_scalars(tmp_path)
    assert [n for _, n in scalars["examples"]] == [32, 32]  # 4 shards of 8, concatenated


def test_scalar_host_call_tensors_are_rejected(tmp_path):
    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        return spec._replace(host_call=(lambda loss: None, [spec.loss]))

    with pytest.raises(ValueError, match="rank >= 1"):
        estimator(tmp_path, model_fn=model_fn).train(train_input_fn(), steps=2)


def test_host_call_costs_one_model_fn_build_per_train_call(tmp_path):
    calls = []
    inner = host_call_model_fn(str(tmp_path))

    def model_fn(features, labels, mode, params):
        calls.append(mode)
        return inner(features, labels, mode, params)

    est = estimator(tmp_path, model_fn=model_fn, iterations=2, batch=8)
    est.train(train_input_fn(), steps=4)
    assert calls == ["train"]
    assert [step for step, _ in host_scalars(tmp_path)["examples"]] == [2, 4]
