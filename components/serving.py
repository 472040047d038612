"""The default serving signatures: serialized tf.Examples as `serving_default`, raw features too."""

from __future__ import annotations

import tensorflow as tf

from components.schema import Schema
from estimator_core.export import ServingInputReceiver

RAW = "raw"


def default_serving_input_receiver_fn(schema: Schema):
    """A receiver fn parsing serialized tf.Examples with components.data.parse_examples.

    Signatures: each export output (the default model's `serving_default` and
    `classification`) takes `examples` (a [batch] string tensor of tf.Examples); the
    `<output>:raw` alternatives (e.g. `serving_default:raw`) take the parsed features directly:
    numbers as float32 [batch] (NaN for missing) and strings as [batch] ("" for missing).
    """
    from components import data

    def serving_input_receiver_fn() -> ServingInputReceiver:
        serialized = tf.compat.v1.placeholder(tf.string, [None], name="input_example_tensor")
        parsed = data.parse_examples(serialized, schema, include_label=False)
        # Named identities are the raw signature's inputs: feeding them skips the parsing.
        features = {name: tf.identity(t, name=f"raw_{name}") for name, t in parsed.items()}
        return ServingInputReceiver(
            features, {"examples": serialized}, receiver_tensors_alternatives={RAW: features}
        )

    return serving_input_receiver_fn


def receiver_fn_for(model):
    """The serving receiver fn of a trained_model.TrainedModel: its module's own
    serving_input_receiver_fn when it has one, else the default tf.Example signatures."""
    if model.module.serving_input_receiver_fn is None:
        return default_serving_input_receiver_fn(model.schema)

    def receiver_fn():  # called by the engine inside the export graph
        return model.module.call_serving_input_receiver_fn(model.schema, model.params)

    return receiver_fn
