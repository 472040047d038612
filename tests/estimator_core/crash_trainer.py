"""A trainer for the fault-injection tests: resumes from model_dir, input positioned by global step."""

import sys

import numpy as np
import tensorflow as tf

from estimator_core import ModeKeys, RunConfig, TPUConfig, TPUEstimator, TPUEstimatorSpec

tf.config.experimental.enable_op_determinism()
v1 = tf.compat.v1
model_dir, max_steps = sys.argv[1], int(sys.argv[2])
save_steps = int(sys.argv[3]) if len(sys.argv) > 3 else 5
x = np.random.RandomState(0).randn(512, 64).astype("float32")
y = (x[:, 0] > 0).astype("int32")


def model_fn(features, labels, mode):
    # ~8 MB of weights, so checkpoint writes take long enough to be hit by a kill.
    w1 = v1.get_variable("w1", [64, 4096], initializer=v1.glorot_uniform_initializer(seed=1))
    w2 = v1.get_variable("w2", [4096, 2], initializer=v1.glorot_uniform_initializer(seed=2))
    logits = tf.matmul(tf.nn.relu(tf.matmul(features, w1)), w2)
    loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
    op = v1.train.GradientDescentOptimizer(0.05).minimize(
        loss, global_step=v1.train.get_global_step()
    )
    assert mode == ModeKeys.TRAIN
    return TPUEstimatorSpec(mode, loss=loss, train_op=op)


def input_fn(params):
    # The data a step sees depends only on the step, so a resumed run replays exactly.
    latest = tf.train.latest_checkpoint(model_dir)
    start = int(latest.rsplit("-", 1)[1]) if latest else 0
    ds = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(params["batch_size"])
    return ds.skip(start)


config = RunConfig(
    model_dir=model_dir,
    tpu_config=TPUConfig(5),
    save_checkpoints_steps=save_steps,
    keep_checkpoint_max=3,
    log_step_count_steps=10**6,
)
est = TPUEstimator(model_fn, config=config, use_tpu=False, train_batch_size=32)
print("STARTED", flush=True)
est.train(input_fn, max_steps=max_steps)
result = est.last_train_result
print("FINISHED", result["global_step"], "PREEMPTED" if result["preempted"] else "", flush=True)
