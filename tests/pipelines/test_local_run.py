"""Local pipeline runs (kfp.local + Beam in process) and the local recurring schedule."""

import glob
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import tensorflow as tf

from components.datasets import penguins_csv
from pipelines.local import run_local

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_two_runs_bless_then_reject_a_worse_model_against_the_baseline(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    root = tmp_path / "root"
    first = run_local(penguins_csv(), str(root), train_steps=300)
    assert first.status == "succeeded" and first.blessed is True
    assert first.metrics["accuracy"] > 0.9
    assert first.parameters["baseline_model_uri"] == ""
    loaded = tf.saved_model.load(first.export_path)
    assert "serving_default" in loaded.signatures
    assert os.path.exists(first.report)
    html = [
        p
        for p in glob.glob(str(root / "pipeline_root" / "*" / "report*" / "html"))
        if os.path.getsize(p)
    ]
    assert html and "data:image/png;base64," in Path(html[0]).read_text()  # the KFP HTML artifact
    # A barely trained model: worse than the blessed baseline, so it must not be exported.
    second = run_local(penguins_csv(), str(root), train_steps=3)
    assert second.parameters["baseline_model_uri"] == first.model_dir
    assert second.blessed is False and second.export_path is None
    assert "worse" in second.blessing_reason and "baseline" in second.blessing_reason
    assert sorted(os.listdir(root / "exports")) == sorted(
        [os.path.basename(first.export_path), "push.json"]
    )
    # Warm-started from the blessed model, a few more steps keep it good: blessed and exported.
    third = run_local(penguins_csv(), str(root), train_steps=3, warm_start=True)
    assert third.parameters["baseline_model_uri"] == first.model_dir
    assert third.blessed is True and third.export_path and third.metrics["accuracy"] > 0.9
    assert "warm-start" in third.model_dir or "trainer-2" in third.model_dir
    records = json.loads((root / "index.json").read_text())
    assert [r["blessed"] for r in records] == [True, False, True]
    assert not os.listdir(root / "tmp")  # kfp.local's per-task temp dirs cleaned up


SCHEDULE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pipelines.local import Schedule
    log = open(sys.argv[1], "a")
    def job():
        log.write(f"start {time.monotonic()}\\n"); log.flush()
        time.sleep(0.4)  # longer than the interval: runs must still never overlap
        log.write(f"end {time.monotonic()}\\n"); log.flush()
    print("RUNS", Schedule(0.1).run(job), flush=True)
    """
)


def test_local_schedule_never_overlaps_and_stops_cleanly_on_sigterm(tmp_path):
    log = tmp_path / "runs.log"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCHEDULE_SCRIPT, str(log)],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=ROOT),
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0
    events = [line.split() for line in log.read_text().splitlines()]
    assert events[-1][0] == "end"  # the run in progress finished before stopping
    kinds = [kind for kind, _ in events]
    assert kinds == ["start", "end"] * (len(kinds) // 2) and len(kinds) >= 4
    times = [float(t) for _, t in events]
    assert times == sorted(times)
    assert f"RUNS {len(kinds) // 2}" in out
