"""`tpuest --legacy-keras` switches TensorFlow to tf-keras before anything imports it."""

import os
import subprocess
import sys

import pytest

PROGRAM = """
import sys
from pipelines.tpuest import main
main([*sys.argv[2:], "check-model", sys.argv[1]])
import tensorflow as tf
with tf.Graph().as_default():
    tf.compat.v1.layers.dense(tf.zeros([2, 3]), 4)
print("dense built")
"""


@pytest.mark.parametrize("flags, works", [(["--legacy-keras"], True), ([], False)])
def test_legacy_keras_flag_makes_compat_v1_layers_work(tmp_path, flags, works):
    module = tmp_path / "model.py"
    module.write_text("def model_fn(features, labels, mode):\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(module), *flags],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )
    assert (done.returncode == 0 and "dense built" in done.stdout) is works, done.stderr[-2000:]
