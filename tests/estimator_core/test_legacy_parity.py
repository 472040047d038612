"""TPU-era model_fn patterns train here with the original TPUEstimator's numbers.

The reference numbers in data/legacy_reference.json were recorded once with the original
(tensorflow-estimator 2.15, use_tpu=False) by make_legacy_reference.py on the same model_fns
(compat_models.py). `disable_v2_behavior()` is process-global, so that mode runs in a subprocess.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import estimator_core

from . import compat_models

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
with open(os.path.join(HERE, "data", "legacy_reference.json")) as f:
    REFERENCE = json.load(f)["cases"]
v1 = tf.compat.v1


def assert_same_numbers(got: dict, expected: dict) -> None:
    assert got["global_step"] == expected["global_step"]
    assert sorted(got["variables"]) == sorted(expected["variables"])
    for name, value in expected["variables"].items():
        np.testing.assert_allclose(got["variables"][name], value, rtol=0, atol=1e-6, err_msg=name)
    for key, value in expected["eval"].items():
        assert got["eval"][key] == pytest.approx(value, abs=1e-6), key
    np.testing.assert_allclose(
        np.concatenate(got["predictions"]), np.concatenate(expected["predictions"]), atol=1e-6
    )


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_each_pattern_gives_the_originals_numbers(tmp_path, name):
    got = compat_models.run_case(name, estimator_core, str(tmp_path), iterations=3)
    assert_same_numbers(got, REFERENCE[name])


def pre_increment_weights() -> np.ndarray:
    """bert_style_schedule's weights computed eagerly, each step's learning rate taken from the
    global step before that step's increment."""
    x, y = compat_models.data()
    w = tf.Variable(compat_models.W0)
    learning_rate = tf.Variable(0.0)
    optimizer = v1.train.AdamOptimizer(learning_rate)
    for step in range(compat_models.STEPS):
        decayed = 0.1 * (1 - step / compat_models.STEPS)
        learning_rate.assign(0.1 * step / 2.0 if step < 2 else decayed)
        rows = slice(step * 8 % 48, step * 8 % 48 + 8)
        with tf.GradientTape() as tape:
            loss = v1.losses.sparse_softmax_cross_entropy(y[rows], tf.matmul(x[rows], w))
        optimizer.apply_gradients(zip(tape.gradient(loss, [w]), [w]))
    return w.numpy()


def test_a_grouped_global_step_increment_is_reproducible_and_reads_the_step_before_it(tmp_path):
    runs = [
        compat_models.run_case(
            "bert_style_schedule", estimator_core, str(tmp_path / str(i)), iterations=k
        )
        for i, k in enumerate((1, 3, 3))
    ]
    weights = [np.array(run["variables"]["w"], np.float32) for run in runs]
    # Bitwise identical, in and across loops of any size.
    assert all(np.array_equal(weights[0], other) for other in weights[1:])
    np.testing.assert_allclose(weights[0], pre_increment_weights(), rtol=0, atol=1e-6)


V1_SCRIPT = """
import json, sys
import tensorflow as tf
tf.compat.v1.disable_v2_behavior()
import estimator_core
from tests.estimator_core import compat_models
results = {}
for name in sys.argv[2:]:
    results[name] = compat_models.run_case(name, estimator_core, sys.argv[1] + "/" + name, 3)
print("RESULTS", json.dumps(results))
"""


@pytest.mark.slow
def test_each_pattern_gives_the_originals_numbers_after_disable_v2_behavior(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-c", V1_SCRIPT, str(tmp_path), *sorted(REFERENCE), "bert_style_schedule"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULTS "))
    results = json.loads(line[len("RESULTS ") :])
    for name in sorted(REFERENCE):
        assert_same_numbers(results[name], REFERENCE[name])
    bert = np.array(results["bert_style_schedule"]["variables"]["w"])
    np.testing.assert_allclose(bert, pre_increment_weights(), rtol=0, atol=1e-6)
