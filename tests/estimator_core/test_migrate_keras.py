"""tpuest migrate puts TF1-era tf.keras (applications and models on graph tensors, model.updates)
on Keras 2 (tf-keras), the Keras that runs it; modern tf.keras code is left on Keras 3."""

import os
import subprocess
import sys
import textwrap

import pytest

from estimator_core.migrate import migrate_source, rules

HERE = os.path.dirname(os.path.abspath(__file__))
SWITCH = rules.LEGACY_KERAS_IMPORT


def migrate(text: str):
    return migrate_source(textwrap.dedent(text).lstrip("\n"), "m.py")


def test_tf1_era_keras_gets_the_switch_before_tensorflow_loads():
    result = migrate(
        """
        '''A TPU-era model.'''
        from __future__ import print_function
        import tensorflow as tf
        from tensorflow.keras import layers
        def model_fn(features, labels, mode, params):
            model = tf.keras.applications.ResNet50(input_tensor=features, weights=None)
            with tf.control_dependencies(model.updates):
                train_op = tf.compat.v1.train.AdamOptimizer().minimize(model.output)
        """
    )
    lines = result.migrated.splitlines()
    # `import tensorflow` fixes what `from tensorflow.keras import ...` gives: the switch first.
    assert lines[:4] == [
        "'''A TPU-era model.'''",
        "from __future__ import print_function",
        SWITCH,
        "import tensorflow as tf",
    ]
    (added,) = [c for c in result.changes if c.after == SWITCH]
    assert "tf-keras" in added.note and "TF_USE_LEGACY_KERAS=1" in added.note
    assert migrate_source(result.migrated, "m.py").migrated == result.migrated  # idempotent


def test_keras_beside_tf1_names_is_tf1_era_too():
    result = migrate(
        """
        import tensorflow as tf
        def model_fn(features, labels, mode, params):
            x = tf.keras.layers.Dense(3)(features)
            if mode == tf.estimator.ModeKeys.TRAIN:
                pass
        """
    )
    assert result.migrated.splitlines()[0] == SWITCH


def test_modern_keras_code_stays_on_keras_3():
    result = migrate(
        """
        import tensorflow as tf
        model = tf.keras.Sequential([tf.keras.layers.Dense(3)])
        """
    )
    assert SWITCH not in result.migrated and not result.changed


@pytest.mark.slow
def test_migrated_keras_application_on_graph_tensors_trains_its_batch_norm(tmp_path):
    """MobileNetV2(input_tensor=features) with model.updates in a TPUEstimator model_fn: before
    the rule it failed ('Argument input_tensor must be a KerasTensor'); after it, it trains and
    the batch-norm moving statistics move."""
    with open(os.path.join(HERE, "data", "tf1_keras_applications.py")) as f:
        result = migrate_source(f.read(), "tf1_keras_applications.py")
    assert result.manual == ()
    script = tmp_path / "migrated.py"
    script.write_text(result.migrated)
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "model")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("MOVING_MEAN_MAX")]
    moved, count = float(line.split()[1]), int(line.split()[2])
    assert count > 10 and moved > 1e-4  # moving means start at 0: model.updates ran


@pytest.mark.slow
def test_the_switch_import_routes_tensorflow_keras_imports_to_tf_keras():
    # `from estimator_core.compat import legacy_keras` must not load TensorFlow itself first.
    code = (
        f"{SWITCH}\nimport tensorflow as tf\nfrom tensorflow.keras import layers\n"
        "print(layers.Dense.__module__, tf.keras.layers.Dense.__module__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["tf_keras.src.layers.core.dense"] * 2
