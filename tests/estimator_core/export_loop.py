"""Exports the same trained model over and over (the fault test kills it mid-export)."""

import sys

import tensorflow as tf

from estimator_core.export import build_raw_serving_input_receiver_fn
from tests.estimator_core.fakes import estimator

model_dir, export_base = sys.argv[1], sys.argv[2]
est = estimator(model_dir)
receiver = build_raw_serving_input_receiver_fn({"x": tf.TensorSpec([None, 4], tf.float32)})
print("EXPORTING", flush=True)
while True:
    est.export_saved_model(export_base, receiver)
