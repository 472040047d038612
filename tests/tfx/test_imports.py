"""The TFX entry points import neither kfp nor our KFP components (TFX runs them without kfp)."""

from __future__ import annotations

import subprocess
import sys


def test_the_tfx_entry_points_do_not_import_kfp():
    code = (
        "import sys\n"
        "import estimator_core, components.trainer.tfx, components.tfx_data\n"
        "import components.evaluator.tfma_config\n"
        "loaded = sorted(m for m in sys.modules if m == 'kfp' or m.startswith('kfp.')\n"
        "                or m.endswith('.component'))\n"
        "print(loaded)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"
