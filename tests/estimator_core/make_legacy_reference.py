"""Records the original TPUEstimator's numbers for the cases of compat_models.py.

Run it with the TensorFlow 2.15 + tensorflow-estimator 2.15 Python (see bench/legacy_peer.py):

    PYTHONPATH=. /work/legacy-venv/bin/python tests/estimator_core/make_legacy_reference.py

It trains, evaluates and predicts every case with `tf.compat.v1.estimator.tpu.TPUEstimator`
(use_tpu=False), runs plain_estimator_case.py's script with `tf.compat.v1.estimator.Estimator`
(numbers and hook call counts), and writes tests/estimator_core/data/legacy_reference.json, which
test_legacy_parity.py and test_plain_estimator.py compare this engine's results with.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # noqa: E402

from tests.estimator_core import compat_models, plain_estimator_case  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "legacy_reference.json")


def main() -> None:
    from importlib.metadata import version

    api = tf.compat.v1.estimator.tpu
    cases = {}
    for name in compat_models.CASES:
        if name in compat_models.RACY_ON_THE_ORIGINAL:
            continue
        with tempfile.TemporaryDirectory() as workdir:
            cases[name] = compat_models.run_case(name, api, workdir)
        print(name, cases[name]["eval"], file=sys.stderr)
    with tempfile.TemporaryDirectory() as workdir:
        plain = plain_estimator_case.run(plain_estimator_case.legacy_api(), workdir)
    record = {
        "note": "Produced by tests/estimator_core/make_legacy_reference.py with the original "
        "TPUEstimator (use_tpu=False); regenerate with the command in its docstring. "
        + compat_models.RACY_NOTE,
        "tensorflow": tf.__version__,
        "tensorflow_estimator": version("tensorflow-estimator"),
        "cases": cases,
        "plain_estimator": plain,
        "plain_estimator_note": "plain_estimator_case.run(legacy_api()) with "
        "tf.compat.v1.estimator.Estimator: train, evaluate, predict, export, then "
        "train_and_evaluate; hook_calls counts each SessionRunHook method call.",
    }
    with open(OUT, "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
