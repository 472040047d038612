"""Export outputs (one per serving signature) and the defaults a PREDICT spec gets from them."""

from __future__ import annotations

import tensorflow as tf

sig = tf.compat.v1.saved_model.signature_def_utils
DEFAULT_SERVING_KEY = "serving_default"


def named(value, default_key: str) -> dict:
    """`value` as a dict: a dict is copied, anything else becomes {default_key: value}."""
    if isinstance(value, dict):
        return dict(value)
    return {default_key: value}


class ExportOutput:
    """One signature's outputs; `signature_def(inputs)` builds it for a dict of input tensors."""

    def signature_def(self, inputs: dict):
        raise NotImplementedError


class PredictOutput(ExportOutput):
    """Generic outputs: a tensor or a dict of named tensors."""

    def __init__(self, outputs):
        self.outputs = named(outputs, "output")
        for key, value in self.outputs.items():
            if not isinstance(value, tf.Tensor):
                raise ValueError(
                    f"PredictOutput value for {key!r} must be a Tensor, got {type(value)}"
                )

    def signature_def(self, inputs):
        return sig.predict_signature_def(inputs, self.outputs)


def _single_string_input(inputs: dict, kind: str) -> tf.Tensor:
    if len(inputs) != 1 or next(iter(inputs.values())).dtype != tf.string:
        raise ValueError(f"{kind} signatures need exactly one string input (serialized tf.Example)")
    return next(iter(inputs.values()))


class ClassificationOutput(ExportOutput):
    """Classification outputs: `scores` (float [batch, classes]) and/or `classes` (string)."""

    def __init__(self, scores=None, classes=None):
        if scores is None and classes is None:
            raise ValueError("ClassificationOutput needs scores and/or classes")
        if classes is not None and classes.dtype != tf.string:
            raise ValueError("ClassificationOutput classes must be a string tensor")
        self.scores, self.classes = scores, classes

    def signature_def(self, inputs):
        return sig.classification_signature_def(
            _single_string_input(inputs, "Classification"), self.classes, self.scores
        )


class RegressionOutput(ExportOutput):
    """Regression output: one float tensor `value`."""

    def __init__(self, value):
        if value is None or not value.dtype.is_floating:
            raise ValueError("RegressionOutput value must be a float tensor")
        self.value = value

    def signature_def(self, inputs):
        return sig.regression_signature_def(_single_string_input(inputs, "Regression"), self.value)


def export_outputs_for(export_outputs, predictions) -> dict | None:
    """A PREDICT spec's export_outputs, as the original's spec constructors made them.

    None becomes `{'serving_default': PredictOutput(predictions)}` (a single prediction tensor
    is named 'output'), so a model_fn wrapper can add to `spec.export_outputs['serving_default']`;
    a single entry under another name also serves as serving_default; several need one named
    serving_default. The dict is copied, not changed in place.

    Raises:
        TypeError: export_outputs is not a dict of ExportOutput values.
        ValueError: several export outputs and none named serving_default.
    """
    if export_outputs is None:
        if predictions is None:
            return None  # validate_spec says what the mode needs
        return {DEFAULT_SERVING_KEY: PredictOutput(predictions)}
    if not isinstance(export_outputs, dict):
        raise TypeError(
            f"export_outputs must be a dict of name -> ExportOutput, got {export_outputs!r}"
        )
    for key, output in export_outputs.items():
        if not isinstance(output, ExportOutput):
            raise TypeError(
                f"export_outputs[{key!r}] must be an ExportOutput, got {type(output).__name__}"
            )
    outputs = dict(export_outputs)
    if len(outputs) == 1:
        outputs.setdefault(DEFAULT_SERVING_KEY, next(iter(outputs.values())))
    elif outputs and DEFAULT_SERVING_KEY not in outputs:
        raise ValueError(
            f"export_outputs has several entries {sorted(outputs)} but none is "
            f"{DEFAULT_SERVING_KEY!r}: name the one to serve by default"
        )
    return outputs
