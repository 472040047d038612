"""`tpuest --help` and every `tpuest <command> [<action>] --help` answer without TensorFlow."""

import os
import subprocess
import sys

import pytest

from pipelines.tpuest import SUBCOMMANDS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PIPELINE_ACTIONS = ["compile", "compile-components", "run", "runs", "submit", "schedule"]
# Runs main() with the arguments, then reports whether TensorFlow was ever imported.
PROBE = """
import sys
from pipelines.tpuest import main
try:
    main(sys.argv[1:])
finally:
    print("TENSORFLOW-LOADED" if "tensorflow" in sys.modules else "TENSORFLOW-NOT-LOADED")
"""


@pytest.mark.slow
@pytest.mark.parametrize(
    "argv",
    [["--help"]]
    + [[name, "--help"] for name in SUBCOMMANDS]
    + [["pipeline", action, "--help"] for action in PIPELINE_ACTIONS],
    ids=lambda argv: " ".join(argv),
)
def test_help_never_imports_tensorflow(argv):
    ran = subprocess.run(
        [sys.executable, "-c", PROBE, *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT),
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "usage: tpuest" in ran.stdout
    assert ran.stdout.rstrip().endswith("TENSORFLOW-NOT-LOADED"), ran.stdout[-500:]
