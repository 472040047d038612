import os

import numpy as np
import pytest
import tensorflow as tf

from estimator_core import TPUEstimatorSpec
from estimator_core.export import (
    ClassificationOutput,
    PredictOutput,
    RegressionOutput,
    ServingInputReceiver,
    TensorServingInputReceiver,
    build_parsing_serving_input_receiver_fn,
    build_raw_serving_input_receiver_fn,
)

from .fakes import data, estimator, finite_input_fn, linear_model_fn

v1 = tf.compat.v1
RAW = build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 4], tf.float32)})


def test_export_errors(tmp_path, trained):
    with pytest.raises(ValueError, match="serving_input_receiver_fn must be defined"):
        estimator(trained).export_saved_model(str(tmp_path), None)
    with pytest.raises(ValueError, match="could not find a trained model"):
        estimator(tmp_path / "empty").export_saved_model(str(tmp_path), RAW)

    def nothing(features, labels, mode):
        return TPUEstimatorSpec(mode)

    with pytest.raises(ValueError, match="neither export_outputs nor predictions"):
        estimator(trained, model_fn=nothing).export_saved_model(str(tmp_path / "x"), RAW)


@pytest.mark.parametrize("dest", ["/etc/passwd", "../escape.txt", "a/../../b.txt"])
def test_assets_extra_cannot_escape(tmp_path, trained, dest):
    source = tmp_path / "vocab.txt"
    source.write_text("a\n")
    with pytest.raises(ValueError, match="relative path inside assets.extra"):
        estimator(trained).export_saved_model(
            str(tmp_path / "exp"), RAW, assets_extra={dest: str(source)}
        )
    assert not (tmp_path / "exp").exists() or os.listdir(tmp_path / "exp") == []


def test_export_loads_in_tf2_and_matches_predict(tmp_path, trained):
    source = tmp_path / "vocab.txt"
    source.write_text("a\n")
    est = estimator(trained)
    path = est.export_savedmodel(
        str(tmp_path / "exp"), RAW, assets_extra={"sub/vocab.txt": str(source)}
    )
    assert os.path.dirname(path) == str(tmp_path / "exp") and os.path.basename(path).isdigit()
    assert os.listdir(tmp_path / "exp") == [os.path.basename(path)]  # no temp dir left
    assert (
        tmp_path / "exp" / os.path.basename(path) / "assets.extra" / "sub" / "vocab.txt"
    ).read_text() == "a\n"
    x, _ = data(n=10, seed=9)
    loaded = tf.saved_model.load(path)
    served = loaded.signatures["serving_default"](x=tf.constant(x))
    predicted = list(est.predict(finite_input_fn(x, labels=False)))
    np.testing.assert_allclose(
        served["logits"].numpy(), np.stack([p["logits"] for p in predicted]), rtol=1e-5, atol=1e-6
    )
    # A second export gets its own version directory.
    second = est.export_saved_model(str(tmp_path / "exp"), RAW, as_text=True)
    assert second != path and os.path.exists(os.path.join(second, "saved_model.pbtxt"))


def export_model_fn(features, labels, mode, params):
    spec = linear_model_fn(features, labels, mode, params)
    logits = spec.predictions["logits"]
    probs = tf.nn.softmax(logits)
    classes = tf.constant([["a", "b", "c"]])
    outputs = {
        "serving_default": ClassificationOutput(
            scores=probs, classes=tf.tile(classes, [tf.shape(probs)[0], 1])
        ),
        "regress": RegressionOutput(value=logits[:, 0]),
        "predict": PredictOutput({"logits": logits}),
    }
    return spec._replace(export_outputs=outputs)


def test_one_signature_per_export_output_with_parsing_receiver(tmp_path, trained):
    est = estimator(trained, model_fn=export_model_fn)
    receiver_fn = build_parsing_serving_input_receiver_fn(
        {"x": tf.io.FixedLenFeature([4], tf.float32)}
    )
    path = est.export_saved_model(str(tmp_path / "exp"), receiver_fn)
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == {"serving_default", "regress", "predict"}
    x, _ = data(n=3, seed=2)
    examples = [
        tf.train.Example(
            features=tf.train.Features(
                feature={"x": tf.train.Feature(float_list=tf.train.FloatList(value=row))}
            )
        ).SerializeToString()
        for row in x
    ]
    out = loaded.signatures["predict"](examples=tf.constant(examples))
    w, b = est.get_variable_value(["w", "b"])
    np.testing.assert_allclose(out["logits"].numpy(), x @ w + b, rtol=1e-5, atol=1e-6)
    scores = loaded.signatures["serving_default"](inputs=tf.constant(examples))["scores"].numpy()
    assert scores.shape == (3, 3)


def test_a_single_named_output_also_serves_as_serving_default(tmp_path, trained):
    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        outputs = {"mine": PredictOutput({"logits": spec.predictions["logits"]})}
        return TPUEstimatorSpec(mode, predictions=spec.predictions, export_outputs=outputs)

    path = estimator(trained, model_fn=model_fn).export_saved_model(str(tmp_path / "exp"), RAW)
    loaded = tf.saved_model.load(path)
    assert set(loaded.signatures) == {"mine", "serving_default"}
    x, _ = data(n=2, seed=3)
    np.testing.assert_allclose(
        loaded.signatures["serving_default"](x=tf.constant(x))["logits"].numpy(),
        loaded.signatures["mine"](x=tf.constant(x))["logits"].numpy(),
        atol=1e-6,
    )


def test_export_outputs_alone_are_enough_to_export(tmp_path, trained):
    def model_fn(features, labels, mode, params):
        logits = linear_model_fn(features, labels, mode, params).predictions["logits"]
        return TPUEstimatorSpec(mode, export_outputs={"scores": PredictOutput({"logits": logits})})

    est = estimator(trained, model_fn=model_fn)
    loaded = tf.saved_model.load(est.export_saved_model(str(tmp_path / "exp"), RAW))
    assert set(loaded.signatures) == {"scores", "serving_default"}
    with pytest.raises(ValueError, match="must return predictions"):
        next(est.predict(finite_input_fn(labels=False)))


def test_receiver_validation():
    with pytest.raises(ValueError, match="features and receiver_tensors"):
        ServingInputReceiver(None, None)


def bare_tensor_model_fn(features, labels, mode, params):
    """The linear model, for a model_fn whose features are one tensor (not a dict)."""
    assert isinstance(features, tf.Tensor), f"model_fn got {type(features).__name__}"
    return linear_model_fn({"x": features}, labels, mode, params)


def test_tensor_receiver_hands_model_fn_the_bare_tensor_and_serves(tmp_path, trained):
    def receiver_fn():
        images = v1.placeholder(tf.float32, [None, 4], name="images")
        scaled = images * 2.0
        return TensorServingInputReceiver(
            scaled, images, receiver_tensors_alternatives={"scaled": {"scaled": scaled}}
        )

    est = estimator(trained, model_fn=bare_tensor_model_fn)
    loaded = tf.saved_model.load(est.export_saved_model(str(tmp_path / "exp"), receiver_fn))
    assert set(loaded.signatures) == {"serving_default", "serving_default:scaled"}
    x, _ = data(n=5, seed=4)
    w, b = est.get_variable_value(["w", "b"])
    served = loaded.signatures["serving_default"](input=tf.constant(x))["logits"].numpy()
    np.testing.assert_allclose(served, (2.0 * x) @ w + b, rtol=1e-5, atol=1e-6)
    fed_downstream = loaded.signatures["serving_default:scaled"](scaled=tf.constant(x))
    np.testing.assert_allclose(fed_downstream["logits"].numpy(), x @ w + b, rtol=1e-5, atol=1e-6)


def test_serving_receiver_wraps_a_single_feature_in_a_dict_as_the_original():
    with tf.Graph().as_default():
        t = v1.placeholder(tf.float32, [None, 4])
        plain = ServingInputReceiver(t, {"x": t})
        assert plain.features == {"feature": t} and plain.receiver_tensors == {"x": t}
        bare = TensorServingInputReceiver(t, t)
        assert bare.features is t and bare.receiver_tensors == {"input": t}
        sparse = v1.sparse_placeholder(tf.int64)
        assert TensorServingInputReceiver(sparse, {"ids": sparse}).features is sparse
        with pytest.raises(ValueError, match="features must be a Tensor or SparseTensor, got dict"):
            TensorServingInputReceiver({"x": t}, t)
        with pytest.raises(ValueError, match="receiver_tensors_alternatives must be a dict"):
            ServingInputReceiver(t, t, receiver_tensors_alternatives=[t])
