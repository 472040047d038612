"""A trainer whose input never yields a batch, for the interrupt tests: prints INPUT POLLED to
stderr once the main thread is inside the training loop's session.run."""

import logging
import sys

import tensorflow as tf

from .fakes import estimator, linear_model_fn

logging.basicConfig(level=logging.INFO, stream=sys.stderr)
polled = []


def drop_every_row(*_):
    if not polled:
        polled.append(True)
        print("INPUT POLLED", file=sys.stderr, flush=True)
    return False


def input_fn(params):
    x = tf.zeros([4, 4])
    ds = tf.data.Dataset.from_tensor_slices(({"x": x}, tf.zeros([4], tf.int32))).repeat()
    # Called while session.run waits for a batch: the main thread is then stuck in it.
    ds = ds.filter(lambda f, y: tf.py_function(drop_every_row, [y], tf.bool))
    # No prefetch thread: rows are pulled only by the training loop's session.run, so the
    # INPUT POLLED line never comes while the main thread still runs Python code.
    options = tf.data.Options()
    options.experimental_optimization.inject_prefetch = False
    return ds.batch(params["batch_size"]).with_options(options)


estimator(sys.argv[1], model_fn=linear_model_fn).train(input_fn, max_steps=10)
print("TRAIN RETURNED", file=sys.stderr, flush=True)
