"""TFX tests: they run in the TFX environment (docs/tfx.md); elsewhere they are skipped.

The TFX test command sets TPUEST_REQUIRE_TFX=1, so there a missing or broken TFX install
fails the run instead of skipping every test.
"""

from __future__ import annotations

import os

import pytest

try:
    import tfx  # noqa: F401

    _MISSING = None
except ImportError as e:  # the main environment (TF 2.21) has no TFX
    if os.environ.get("TPUEST_REQUIRE_TFX"):
        raise
    _MISSING = str(e)


def pytest_collection_modifyitems(config, items):
    if _MISSING is None:
        return
    skip = pytest.mark.skip(reason=f"TFX is not installed here ({_MISSING}); see docs/tfx.md")
    here = os.path.dirname(os.path.abspath(__file__))
    for item in items:
        if str(item.fspath).startswith(here):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def prepared(tmp_path_factory) -> str:
    """Our prepare output for the embedded penguins CSV (Split-train/, Split-eval/, schema.json,
    stats.json, schema.pbtxt)."""
    from components import prepare
    from components.datasets import penguins_csv

    out = str(tmp_path_factory.mktemp("prepared") / "examples")
    prepare.run([penguins_csv()], out, label="species")
    return out


@pytest.fixture(scope="session")
def tfx_runs(tmp_path_factory):
    """The TFX pipeline run three times on LocalDagRunner in one root (one MLMD store):
    a first run, a second judged against the first, and a worse third (1 training step)."""
    from pipelines.tfx_run import run_local

    root = str(tmp_path_factory.mktemp("tfx") / "root")
    seed = {"custom_config": {"seed": 0}}
    first = run_local(root, train_steps=300, thresholds=["accuracy>=0.9"], **seed)
    second = run_local(root, train_steps=300, thresholds=["accuracy>=0.9"], **seed)
    worse = run_local(root, train_steps=1, thresholds=["accuracy>=0.0"], **seed)
    return first, second, worse
