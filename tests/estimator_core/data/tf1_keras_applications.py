"""Test data for test_migrate_keras.py: a TF1-era TPUEstimator script on tf.keras graph tensors."""

import sys

import numpy as np
import tensorflow as tf


def input_fn(params):
    x = np.random.RandomState(0).rand(16, 32, 32, 3).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.int32)
    data = tf.data.Dataset.from_tensor_slices(({"image": x}, y))
    return data.repeat().batch(params["batch_size"], drop_remainder=True)


def model_fn(features, labels, mode, params):
    training = mode == tf.estimator.ModeKeys.TRAIN
    tf.keras.backend.set_learning_phase(training)
    model = tf.keras.applications.MobileNetV2(
        input_tensor=features["image"], weights=None, alpha=0.35, classes=2
    )
    logits = model.output
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    optimizer = tf.train.GradientDescentOptimizer(0.01)
    with tf.control_dependencies(model.updates):
        train_op = optimizer.minimize(loss, tf.train.get_global_step())
    return tf.contrib.tpu.TPUEstimatorSpec(mode, loss=loss, train_op=train_op)


def main(model_dir):
    config = tf.contrib.tpu.RunConfig(
        model_dir=model_dir, tpu_config=tf.contrib.tpu.TPUConfig(iterations_per_loop=2)
    )
    est = tf.contrib.tpu.TPUEstimator(
        model_fn=model_fn, config=config, use_tpu=False, train_batch_size=4
    )
    est.train(input_fn, max_steps=4)
    names = [n for n in est.get_variable_names() if n.endswith("moving_mean")]
    moved = max(float(np.abs(est.get_variable_value(n)).max()) for n in names)
    print("MOVING_MEAN_MAX", moved, len(names))


if __name__ == "__main__":
    main(sys.argv[1])
