"""PREDICT specs carry the serving_default export output from construction, as the original's."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_core import EstimatorSpec, ModeKeys, TPUEstimatorSpec
from estimator_core.export import PredictOutput, build_raw_serving_input_receiver_fn

from .fakes import data, estimator, linear_model_fn

SPECS = [TPUEstimatorSpec, EstimatorSpec]
RAW = build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 4], tf.float32)})


@pytest.fixture
def graph():
    with tf.Graph().as_default() as g:
        yield g


@pytest.mark.parametrize("spec_class", SPECS)
def test_predict_spec_defaults_to_a_predict_output_of_its_predictions(graph, spec_class):
    logits = tf.constant([[1.0, 2.0]])
    spec = spec_class(ModeKeys.PREDICT, predictions={"logits": logits})
    assert list(spec.export_outputs) == ["serving_default"]
    assert isinstance(spec.export_outputs["serving_default"], PredictOutput)
    assert spec.export_outputs["serving_default"].outputs == {"logits": logits}
    single = spec_class(ModeKeys.PREDICT, predictions=logits)  # one tensor: named "output"
    assert single.export_outputs["serving_default"].outputs == {"output": logits}


@pytest.mark.parametrize("spec_class", SPECS)
def test_a_single_named_export_output_also_serves_as_default(graph, spec_class):
    mine = PredictOutput({"y": tf.constant([1.0])})
    given = {"mine": mine}
    spec = spec_class(ModeKeys.PREDICT, predictions={"p": tf.constant([2.0])}, export_outputs=given)
    assert spec.export_outputs == {"mine": mine, "serving_default": mine}
    assert given == {"mine": mine}  # the caller's dict is left as it was


@pytest.mark.parametrize("spec_class", SPECS)
def test_export_outputs_are_checked_at_construction(graph, spec_class):
    p = {"p": tf.constant([2.0])}
    two = {"a": PredictOutput(p), "b": PredictOutput(p)}
    with pytest.raises(ValueError, match=r"several entries \['a', 'b'\] but none is"):
        spec_class(ModeKeys.PREDICT, predictions=p, export_outputs=two)
    with pytest.raises(TypeError, match=r"export_outputs\['a'\] must be an ExportOutput"):
        spec_class(ModeKeys.PREDICT, predictions=p, export_outputs={"a": p["p"]})
    with pytest.raises(TypeError, match="export_outputs must be a dict"):
        spec_class(ModeKeys.PREDICT, predictions=p, export_outputs=[PredictOutput(p)])


@pytest.mark.parametrize("spec_class", SPECS)
def test_train_and_eval_specs_keep_export_outputs_as_given(graph, spec_class):
    loss = tf.constant(1.0)
    spec = spec_class(ModeKeys.EVAL, predictions={"p": loss}, loss=loss)
    assert spec.export_outputs is None


def test_a_wrapper_adding_to_serving_default_exports_it(tmp_path, trained):
    """ALBERT's --threshold_to_export: the wrapper adds an output to the default signature."""

    def with_threshold(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        if mode == ModeKeys.PREDICT:
            outputs = spec.export_outputs["serving_default"].outputs
            outputs["threshold"] = tf.constant(0.25)
        return spec

    est = estimator(trained, model_fn=with_threshold)
    loaded = tf.saved_model.load(est.export_saved_model(str(tmp_path / "exp"), RAW))
    x, _ = data(n=2, seed=4)
    out = loaded.signatures["serving_default"](x=tf.constant(x))
    assert set(out) == {"class", "logits", "threshold"}
    np.testing.assert_allclose(out["threshold"].numpy(), 0.25, atol=1e-7)
    w, b = est.get_variable_value(["w", "b"])
    np.testing.assert_allclose(out["logits"].numpy(), x @ w + b, rtol=1e-5, atol=1e-6)
