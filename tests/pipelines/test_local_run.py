"""Local pipeline runs (kfp.local + Beam in process), their index records, and the local schedule."""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import tensorflow as tf

import pipelines.training_pipeline
from components.datasets import penguins_csv
from estimator_core.model_dir_lock import LOCK_FILE, ModelDirLockedError
from pipelines.local import run_local

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = dict(os.environ, PYTHONPATH=ROOT)


def prepared_rows(examples_dir: str) -> int:
    return json.loads(Path(examples_dir, "stats.json").read_text())["num_rows"]["input"]


@pytest.mark.slow
def test_two_runs_bless_then_reject_a_worse_model_against_the_baseline(tmp_path, monkeypatch):
    tmpdir = tmp_path / "tmpdir"  # kfp.local leaves temp dirs behind: none may land here
    tmpdir.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmpdir))
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(penguins_csv(), data / "a.csv")
    pattern, root = str(data / "*.csv"), tmp_path / "root"
    first = run_local(pattern, str(root), train_steps=300)
    assert first.status == "succeeded" and first.blessed is True
    assert first.metrics["accuracy"] > 0.9
    assert first.parameters["baseline_model_uri"] == ""
    assert first.examples_dir.startswith(str(root / "pipeline_root"))
    assert prepared_rows(first.examples_dir) == 344
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
    second = run_local(pattern, str(root), train_steps=3)
    assert second.examples_dir == first.examples_dir  # same files, same code: prepare cached
    assert second.parameters["baseline_model_uri"] == first.model_dir
    assert second.blessed is False and second.export_path is None
    assert "worse" in second.blessing_reason and "baseline" in second.blessing_reason
    assert sorted(os.listdir(root / "exports")) == sorted(
        [os.path.basename(first.export_path), "push.json"]
    )
    # A new file matching the glob: prepared again, with its rows.
    rows = Path(penguins_csv()).read_text().splitlines()
    (data / "b.csv").write_text("\n".join(rows[:51]) + "\n")
    # Warm-started from the blessed model, a few more steps keep it good: blessed and exported.
    third = run_local(pattern, str(root), train_steps=3, warm_start=True)
    assert third.examples_dir != first.examples_dir
    assert prepared_rows(third.examples_dir) == 344 + 50
    assert third.parameters["baseline_model_uri"] == first.model_dir
    assert third.blessed is True and third.export_path and third.metrics["accuracy"] > 0.9
    assert "warm-start" in third.model_dir or "trainer-2" in third.model_dir
    records = json.loads((root / "index.json").read_text())
    assert [r["blessed"] for r in records] == [True, False, True]
    assert [r["status"] for r in records] == ["succeeded"] * 3
    assert not os.listdir(root / "tmp")  # kfp.local's per-task temp dirs cleaned up
    assert not os.listdir(tmpdir)


@pytest.mark.parametrize(
    "raised, status", [(RuntimeError("boom"), "failed"), (KeyboardInterrupt(), "interrupted")]
)
def test_a_run_that_raises_is_recorded_with_its_final_status(raised, status, tmp_path, monkeypatch):
    def pipeline_that_raises(**_):
        raise raised

    monkeypatch.setattr(pipelines.training_pipeline, "training_pipeline", pipeline_that_raises)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    root = tmp_path / "root"
    with pytest.raises(type(raised)):
        run_local(penguins_csv(), str(root))
    [record] = json.loads((root / "index.json").read_text())
    assert record["status"] == status and record["finished"]
    assert record["error"] == (
        "RuntimeError: boom" if status == "failed" else "interrupted by a signal"
    )
    assert os.environ["TMPDIR"] == str(tmp_path)  # restored
    assert not os.listdir(root / "tmp")
    assert not (root / LOCK_FILE).exists()  # released: the next run can start


def test_a_root_locked_by_another_process_fails_fast_and_writes_nothing(tmp_path):
    root = tmp_path / "root"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from estimator_core.model_dir_lock import ModelDirLock\n"
            "with ModelDirLock(sys.argv[1], activity='used by a pipeline run'):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            str(root),
        ],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "held\n"
        started = time.monotonic()
        with pytest.raises(ModelDirLockedError) as error:
            run_local(penguins_csv(), str(root))
        assert time.monotonic() - started < 5
        assert f"by process {holder.pid}" in str(error.value)
        assert "only one writer at a time" in str(error.value)
        assert os.listdir(root) == [LOCK_FILE]
    finally:
        holder.kill()
        holder.wait()


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
        env=ENV,
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
