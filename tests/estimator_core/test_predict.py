import numpy as np
import pytest
import tensorflow as tf

from estimator_core import TPUEstimatorSpec

from .fakes import data, estimator, finite_input_fn, linear_model_fn

v1 = tf.compat.v1


def test_no_trained_model(tmp_path):
    with pytest.raises(ValueError, match="could not find a trained model"):
        estimator(tmp_path).predict(finite_input_fn())


def test_yields_every_example_in_order_including_partial_batch(trained):
    x, y = data(n=21, seed=5)
    est = estimator(trained, batch=8)
    preds = list(est.predict(finite_input_fn(x, labels=False)))
    assert len(preds) == 21
    w, b = est.get_variable_value(["w", "b"])
    np.testing.assert_allclose(
        np.stack([p["logits"] for p in preds]), x @ w + b, rtol=1e-5, atol=1e-6
    )
    assert [int(p["class"]) for p in preds] == list(np.argmax(x @ w + b, 1))


def test_batches_and_predict_keys(trained):
    x, y = data(n=20, seed=6)
    batches = list(
        estimator(trained, batch=8).predict(
            finite_input_fn(x, y), predict_keys=["class"], yield_single_examples=False
        )
    )
    assert [len(b["class"]) for b in batches] == [8, 8, 4]
    assert all(set(b) == {"class"} for b in batches)
    with pytest.raises(ValueError, match="not in predictions"):
        next(estimator(trained).predict(finite_input_fn(x, y), predict_keys=["nope"]))


def test_predict_keys_need_dict_predictions(trained):
    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        return TPUEstimatorSpec(mode, predictions=spec.predictions["logits"])

    with pytest.raises(ValueError, match="as a dict"):
        next(estimator(trained, model_fn=model_fn).predict(finite_input_fn(), predict_keys=["a"]))
    logits = list(estimator(trained, model_fn=model_fn).predict(finite_input_fn()))
    assert len(logits) == 96 and logits[0].shape == (3,)


def test_different_batch_lengths_are_an_error(trained):
    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        return TPUEstimatorSpec(
            mode, predictions={"a": spec.predictions["logits"], "b": tf.zeros([2])}
        )

    with pytest.raises(ValueError, match="same batch length"):
        next(estimator(trained, model_fn=model_fn).predict(finite_input_fn()))
