"""`tpuest` entry point: the demo end to end, exit codes and help."""

import json
import os
import subprocess
import sys

import pytest

from components.cli import main


def test_demo_trains_evaluates_predicts_and_exports(tmp_path, capsys):
    assert main(["demo", "--root", str(tmp_path), "--train-steps", "300"]) == 0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["global_step"] == 300
    assert summary["accuracy"] > 0.9
    assert summary["export_agrees_with_predict"] == 1.0
    assert os.path.exists(os.path.join(summary["export_path"], "saved_model.pb"))
    assert "SavedModel at" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv", [["demo", "--train-steps", "0"], ["demo", "--train-steps", "x"], ["nope"]]
)
def test_bad_arguments_exit_2_without_traceback(argv):
    proc = subprocess.run(
        [sys.executable, "-m", "components.cli", *argv], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "error" in proc.stderr


def test_help_lists_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    assert "tpuest demo --root" in capsys.readouterr().out
