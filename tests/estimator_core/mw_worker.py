"""One worker of the two-process multi-worker tests (TF_CONFIG is set by the test)."""

import sys

import numpy as np
import tensorflow as tf

from estimator_core import RunConfig, TPUConfig, TPUEstimator
from tests.estimator_core.fakes import linear_model_fn

model_dir, max_steps = sys.argv[1], int(sys.argv[2])
x = np.random.RandomState(0).randn(256, 4).astype("float32")
y = np.argmax(x[:, :3], 1).astype("int32")


def input_fn(params):
    # Worker i reads every other per-host batch, so the two together see the same global batches
    # of 64 consecutive examples that one device would.
    ctx = params["context"]
    ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(params["batch_size"])
    return ds.shard(ctx.num_input_pipelines, ctx.input_pipeline_id)


config = RunConfig(
    model_dir=model_dir,
    tpu_config=TPUConfig(5),
    tf_random_seed=1,
    loop_timeout_secs=10,
    save_checkpoints_steps=50,
)
est = TPUEstimator(linear_model_fn, config=config, use_tpu=False, train_batch_size=64)
est.train(input_fn, max_steps=max_steps)
print("DONE", est.last_train_result["global_step"], flush=True)
