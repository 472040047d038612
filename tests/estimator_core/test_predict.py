import numpy as np
import pytest
import tensorflow as tf

from estimator_core import TPUEstimatorSpec

from .fakes import N_CLASSES, N_FEATURES, data, estimator, finite_input_fn, linear_model_fn

v1 = tf.compat.v1


def test_without_a_checkpoint_predicts_from_initialized_variables(tmp_path, trained):
    # As the original's: an untrained model_dir predicts with the variables' initial values,
    # which init_from_checkpoint in model_fn may take from another model (a predict-only
    # script over a pretrained checkpoint).
    def warm_model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        v1.train.init_from_checkpoint(str(trained), {"w": "w", "b": "b"})
        return spec

    x, _ = data(n=10, seed=8)
    preds = list(
        estimator(tmp_path, model_fn=warm_model_fn).predict(finite_input_fn(x, labels=False))
    )
    w, b = estimator(trained).get_variable_value(["w", "b"])
    logits = np.stack([p["logits"] for p in preds])
    np.testing.assert_allclose(logits, x @ w + b, rtol=1e-5, atol=1e-6)
    fresh = list(estimator(tmp_path).predict(finite_input_fn(x, labels=False)))
    np.testing.assert_allclose(
        fresh[0]["logits"], x[0] @ np.full((N_FEATURES, N_CLASSES), 0.01), atol=1e-6
    )
    assert tf.train.latest_checkpoint(str(tmp_path)) is None  # nothing written
    with pytest.raises(ValueError, match="does not exist"):
        estimator(tmp_path).predict(
            finite_input_fn(x, labels=False), checkpoint_path=str(tmp_path / "x")
        )


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
