"""A plain tf.estimator.Estimator script, through `tpuest migrate`, runs with the original's
numbers and hook call counts (tensorflow-estimator 2.15's, recorded in data/)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import estimator_core
from estimator_core.migrate import migrate_source

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
SCRIPT = os.path.join(DATA, "plain_estimator_script.py")
REFERENCE = os.path.join(DATA, "plain_estimator_reference.json")


def test_the_script_migrates_with_nothing_left_by_hand():
    with open(SCRIPT) as f:
        result = migrate_source(f.read(), "plain_estimator_script.py")
    assert result.manual == ()
    assert "tf.estimator." not in result.migrated.split('"""', 2)[2]  # past the docstring
    assert "class CountingHook(tf.train.SessionRunHook):" in result.migrated
    assert "est = estimator_core.Estimator(model_fn, config=config" in result.migrated


@pytest.mark.slow
@pytest.mark.skipif(
    "Estimator" not in estimator_core.__all__, reason="estimator_core.Estimator has not landed"
)
def test_migrated_plain_estimator_script_matches_the_original(tmp_path):
    with open(SCRIPT) as f:
        result = migrate_source(f.read(), "plain_estimator_script.py")
    script = tmp_path / "migrated.py"
    script.write_text(result.migrated)
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "model")],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    with open(REFERENCE) as f:
        want = json.load(f)
    for key in ("hook_after_train", "hook_final"):  # every hook called every step, as there
        counts = {k: v for k, v in got[key].items() if k != "last_loss"}
        assert counts == {k: v for k, v in want[key].items() if k != "last_loss"}, key
        np.testing.assert_allclose(got[key]["last_loss"], want[key]["last_loss"], atol=1e-5)
    for key in ("evaluate", "train_and_evaluate"):
        assert set(got[key]) == set(want[key])
        for metric, value in want[key].items():
            np.testing.assert_allclose(got[key][metric], value, atol=1e-5, err_msg=metric)
    np.testing.assert_allclose(got["predict"], want["predict"], atol=1e-5)
    np.testing.assert_allclose(got["w2"], want["w2"], atol=1e-5)
    assert got["global_step"] == want["global_step"] == 40
    assert got["export_has_saved_model"]
