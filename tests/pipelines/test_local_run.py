"""Local pipeline runs (kfp.local + Beam in process), their index records, and the local schedule."""

import contextlib
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
import tensorflow as tf

import pipelines.training_pipeline
from components.datasets import penguins_csv
from estimator_core.model_dir_lock import LOCK_FILE, ModelDirLockedError
from pipelines.cron import Cron
from pipelines.local import SET_BY_RUN_LOCAL, pipeline_parameters, run_local
from pipelines.training_pipeline import DEFAULTS

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
    assert third.parameters["warm_start_from"] == first.model_dir
    assert second.parameters["warm_start_from"] == first.parameters["warm_start_from"] == ""
    records = json.loads((root / "index.json").read_text())
    assert [r["blessed"] for r in records] == [True, False, True]
    assert [r["status"] for r in records] == ["succeeded"] * 3
    assert not os.listdir(root / "tmp")  # kfp.local's per-task temp dirs cleaned up
    assert not os.listdir(tmpdir)


@pytest.mark.parametrize("name", ["train_step", "baseline_model_uri", "warm_start_from"])
def test_run_local_refuses_what_is_not_a_parameter_it_takes(name, tmp_path):
    with pytest.raises(TypeError, match=rf"run_local got \['{name}'\]: not parameters"):
        run_local(penguins_csv(), str(tmp_path / "root"), **{name: 3})
    assert not (tmp_path / "root").exists()  # refused before anything was written


def test_run_local_fills_the_pipeline_s_defaults_under_the_given_values():
    parameters = pipeline_parameters("data/*.csv", {"train_steps": 7, "thresholds": ("loss<=1",)})
    expected = {k: v for k, v in DEFAULTS.items() if k not in SET_BY_RUN_LOCAL}
    assert parameters == {
        **expected,
        "input_pattern": "data/*.csv",
        "train_steps": 7,
        "thresholds": ["loss<=1"],
    }


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


def test_a_root_locked_by_another_process_fails_fast_and_writes_nothing(tmp_path, spawn):
    root = tmp_path / "root"
    holder = spawn(
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
    assert holder.stdout.readline() == "held\n"
    with pytest.raises(ModelDirLockedError) as error:
        run_local(penguins_csv(), str(root))
    assert f"by process {holder.pid}" in str(error.value)
    assert "only one writer at a time" in str(error.value)
    assert os.listdir(root) == [LOCK_FILE]


# A stand-in for one pipeline run, in a child process: records whether it finished.
CHILD = textwrap.dedent(
    """
    import pathlib, sys, time
    state = pathlib.Path(sys.argv[1])
    state.write_text("started")
    try:
        time.sleep(3)
        state.write_text("finished")
    except KeyboardInterrupt:
        state.write_text("interrupted")
        sys.exit(130)
    """
)
SCHEDULER = textwrap.dedent(
    """
    import logging, sys
    from pipelines.recurring import Schedule, every, run_in_own_session
    logging.basicConfig(level=logging.INFO)
    def job():
        print("CHILD EXIT", run_in_own_session([sys.executable, "-c", sys.argv[1], sys.argv[2]]))
    try:
        print("RUNS", Schedule(every(3600)).run(job), flush=True)
    except KeyboardInterrupt:
        print("ABORTED", flush=True)
        sys.exit(130)
    """
)


def wait_for(condition, timeout=120.0):  # a hang guard, never a measure
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def start_scheduler(spawn, script: str, *args) -> subprocess.Popen:
    # A session of its own: like a terminal's foreground job, its process group gets the signals.
    # `spawn` (tests/conftest.py) kills the group at teardown if the test left it running; the
    # watchdog ends it sooner if it hangs, so a blocked read of its output returns (EOF) too.
    proc = spawn(
        [sys.executable, "-c", script, *args],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    watchdog = threading.Timer(WATCHDOG_SECS, _kill_group, args=(proc.pid,))
    watchdog.daemon = True
    watchdog.start()
    return proc


WATCHDOG_SECS = 600  # longer than any test here waits on a scheduler


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_to_the_scheduler_s_group_lets_the_run_in_progress_finish(tmp_path, sig, spawn):
    state = tmp_path / "state"
    proc = start_scheduler(spawn, SCHEDULER, CHILD, str(state))
    wait_for(state.exists)
    os.killpg(proc.pid, sig)  # what Ctrl-C does: the whole foreground process group
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert state.read_text() == "finished"
    assert "CHILD EXIT 0" in out and "RUNS 1" in out
    assert "no more runs; a run in progress finishes" in err


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_aborts_the_run_in_progress(tmp_path, sig, spawn):
    state = tmp_path / "state"
    proc = start_scheduler(spawn, SCHEDULER, CHILD, str(state))
    wait_for(lambda: state.exists() and state.read_text() == "started")
    os.killpg(proc.pid, sig)
    wait_for(lambda: proc.stderr.readline().find("no more runs") >= 0)
    os.killpg(proc.pid, sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "ABORTED" in out, err
    assert state.read_text() == "interrupted"  # the child got SIGINT, handled it, and ended
    assert "aborting the run in progress" in err


def test_a_signal_during_the_wait_stops_the_schedule_at_once(tmp_path, spawn):
    state = tmp_path / "state"
    quick = "import pathlib, sys; pathlib.Path(sys.argv[1]).write_text('finished')"
    proc = start_scheduler(spawn, SCHEDULER, quick, str(state))
    wait_for(state.exists)
    time.sleep(0.5)  # now waiting for the next run, an hour away
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)  # the next run is an hour away: not waited for
    assert proc.returncode == 0 and "RUNS 1" in out, err


SCHEDULE_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from pipelines.recurring import Schedule, every
    log = open(sys.argv[1], "a")
    def job():
        log.write(f"start {time.monotonic()}\\n"); log.flush()
        time.sleep(0.4)  # longer than the interval: runs must still never overlap
        log.write(f"end {time.monotonic()}\\n"); log.flush()
    print("RUNS", Schedule(every(0.1)).run(job), flush=True)
    """
)


def test_local_schedule_never_overlaps_and_stops_cleanly_on_sigterm(tmp_path, spawn):
    log = tmp_path / "runs.log"
    proc = spawn(
        [sys.executable, "-c", SCHEDULE_SCRIPT, str(log)],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    # Two runs done (however slow the machine), then stop: the one in progress must finish.
    wait_for(lambda: log.exists() and log.read_text().count("end") >= 2, timeout=120)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0
    events = [line.split() for line in log.read_text().splitlines()]
    assert events[-1][0] == "end"  # the run in progress finished before stopping
    kinds = [kind for kind, _ in events]
    assert kinds == ["start", "end"] * (len(kinds) // 2) and len(kinds) >= 4
    times = [float(t) for _, t in events]
    assert times == sorted(times)
    assert f"RUNS {len(kinds) // 2}" in out


def tpuest_run(spawn, root, *schedule) -> subprocess.Popen:
    argv = ["pipeline", "run", "--local", "--input", penguins_csv(), "--root", str(root)]
    return start_scheduler(
        spawn,
        "import sys; from pipelines.tpuest import main; sys.exit(main(sys.argv[1:]))",
        *argv,
        "--train-steps",
        "30",
        *schedule,
    )


def test_cli_cron_waits_for_the_next_fire_time_and_stops_on_sigint(tmp_path, spawn):
    root = tmp_path / "root"
    proc = tpuest_run(spawn, root, "--cron", "0 0 1 1 *")  # midnight on January 1st
    expected = Cron.parse("0 0 1 1 *").next_after(datetime.now())
    lines = []
    wait_for(lambda: lines.append(proc.stderr.readline()) or "next run at" in lines[-1])
    assert f"next run at {expected:%Y-%m-%d %H:%M:%S}" in lines[-1]
    os.killpg(proc.pid, signal.SIGINT)
    proc.communicate(timeout=60)  # the next fire time is months away: not waited for
    assert proc.returncode == 0
    assert not (root / "index.json").exists()  # no run was due


def index_statuses(root) -> list:
    path = root / "index.json"
    return [r["status"] for r in json.loads(path.read_text())] if path.exists() else []


@pytest.mark.slow
def test_ctrl_c_during_a_scheduled_pipeline_run_finishes_and_records_it(tmp_path, spawn):
    root = tmp_path / "root"
    proc = tpuest_run(spawn, root, "--every", "1h")
    # The kfp.local trainer task (a subprocess) is running when Ctrl-C comes.
    wait_for(lambda: glob.glob(str(root / "pipeline_root" / "*" / "trainer")), timeout=120)
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert index_statuses(root) == ["succeeded"]
    assert ": succeeded" in out and "schedule stopped after 1 run(s)" in err


@pytest.mark.slow
def test_a_second_ctrl_c_aborts_the_scheduled_pipeline_run_and_records_it(tmp_path, spawn):
    root = tmp_path / "root"
    proc = tpuest_run(spawn, root, "--every", "1h")
    wait_for(lambda: glob.glob(str(root / "pipeline_root" / "*" / "trainer")), timeout=120)
    os.killpg(proc.pid, signal.SIGINT)
    wait_for(lambda: "no more runs" in proc.stderr.readline())
    os.killpg(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert index_statuses(root) == ["interrupted"]
    assert not (root / LOCK_FILE).exists() and not os.listdir(root / "tmp")


@pytest.mark.slow
def test_sigterm_to_a_one_off_run_records_it_interrupted_and_frees_the_root(tmp_path, spawn):
    root = tmp_path / "root"
    proc = tpuest_run(spawn, root)
    wait_for(lambda: glob.glob(str(root / "pipeline_root" / "*" / "trainer")), timeout=120)
    os.kill(proc.pid, signal.SIGTERM)  # the process alone, as `kill PID` does
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert index_statuses(root) == ["interrupted"]
    assert not (root / LOCK_FILE).exists() and not os.listdir(root / "tmp")


SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def test_the_next_run_closes_a_dead_run_s_record_as_killed(tmp_path, monkeypatch):
    def pipeline_that_fails(**_):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipelines.training_pipeline, "training_pipeline", pipeline_that_fails)
    root = tmp_path / "root"
    root.mkdir()
    dead = {"run_id": "20250101-000000-000000", "started": "2025-01-01T00:00:00+00:00"}
    (root / "index.json").write_text(json.dumps([{**dead, "parameters": {}, "status": "running"}]))
    with pytest.raises(RuntimeError):
        run_local(penguins_csv(), str(root))
    killed, this = json.loads((root / "index.json").read_text())
    assert killed["run_id"] == dead["run_id"] and killed["status"] == "killed"
    assert "without recording a status" in killed["error"]
    assert this["status"] == "failed"


def test_secret_beam_flags_are_hidden_in_the_index_and_the_log(tmp_path, monkeypatch):
    def pipeline_that_echoes(**parameters):
        print("executor input:", json.dumps(parameters))  # as kfp.local echoes a task's input
        raise RuntimeError(f"boom {parameters['beam_options']}")

    monkeypatch.setattr(pipelines.training_pipeline, "training_pipeline", pipeline_that_echoes)
    root = tmp_path / "root"
    flags = f"--s3_access_key_id=AKIAEXAMPLE --s3_secret_access_key={SECRET} --direct_num_workers=2"
    with pytest.raises(RuntimeError):
        run_local(penguins_csv(), str(root), beam_options=flags)
    saved = (root / "index.json").read_text()
    [record] = json.loads(saved)
    assert SECRET not in saved and SECRET not in Path(record["log"]).read_text()
    assert (
        "--s3_secret_access_key=*** --direct_num_workers=2" in record["parameters"]["beam_options"]
    )
    assert "executor input" in Path(record["log"]).read_text()
    assert os.stat(root / "index.json").st_mode & 0o777 == 0o600


def test_a_module_file_that_does_not_compile_fails_before_any_step(tmp_path, monkeypatch):
    def pipeline_never_called(**_):
        raise AssertionError("the pipeline started")

    monkeypatch.setattr(pipelines.training_pipeline, "training_pipeline", pipeline_never_called)
    module = tmp_path / "model.py"
    module.write_text("def model_fn(features, labels, mode:\n    pass\n")
    with pytest.raises(SyntaxError) as raised:
        run_local(penguins_csv(), str(tmp_path / "root"), module_file=str(module))
    assert raised.value.filename == str(module) and raised.value.lineno == 1
    assert not (tmp_path / "root" / "index.json").exists()


@pytest.mark.slow
def test_a_failing_step_fails_the_run_with_its_own_error_and_exit_1(tmp_path):
    lines = Path(penguins_csv()).read_text().splitlines()
    bad = tmp_path / "unlabelled.csv"  # every row without its label: prepare rejects them all
    bad.write_text("\n".join([lines[0]] + [",".join([""] + r.split(",")[1:]) for r in lines[1:50]]))
    ran = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.tpuest",
            "pipeline",
            "run",
            "--local",
            "--input",
            str(bad),
            "--root",
            str(tmp_path / "root"),
        ],
        capture_output=True,
        text=True,
        env=ENV,
    )
    assert ran.returncode == 1
    # The step's own exception (its module path is the step's business).
    assert re.search(
        r"error: StepFailedError: step prepare failed: [\w.]*BadDataError: 49 ", ran.stderr
    )
    [record] = json.loads((tmp_path / "root" / "index.json").read_text())
    assert re.match(r"step prepare failed: [\w.]*BadDataError: 49 of 49 rows", record["error"])
    assert "\x1b[" not in record["error"]


def processes_mentioning(text: str) -> list[int]:
    """Pids of the processes whose command line contains `text`."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        with contextlib.suppress(OSError):
            if text in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                found.append(int(pid))
    return found


def running(pid: int) -> bool:
    """Whether `pid` is a process that has not ended (a zombie has)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
def test_a_sigkilled_run_s_task_ends_with_it(tmp_path, spawn):
    root = tmp_path / "root"
    run = spawn(
        [
            sys.executable,
            "-m",
            "pipelines.tpuest",
            "pipeline",
            "run",
            "--local",
            "--input",
            penguins_csv(),
            "--root",
            str(root),
            "--train-steps",
            "1000000",
        ],
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    tasks = []
    try:
        for line in run.stderr:  # one progress line per task event
            if line.startswith("  trainer ..."):
                break
        # kfp logs the task's start before it spawns it; the trainer's executor input names the
        # root, so its process shows up in /proc once spawned.
        for _ in range(3000):
            tasks = [p for p in processes_mentioning(str(root)) if p != run.pid]
            if tasks or run.poll() is not None:
                break
            time.sleep(0.1)
        if not tasks:
            ended = run.poll() is not None
            pytest.fail(f"no trainer task in 300 s; {run.stderr.read() if ended else 'run alive'}")
        os.kill(run.pid, signal.SIGKILL)  # the run alone: its task is in a group of its own
        run.wait()
        for _ in range(600):
            alive = [p for p in tasks if running(p)]
            if not alive:
                break
            time.sleep(0.1)
        assert not alive, f"tasks {alive} outlived the SIGKILLed run"
    finally:
        for pid in tasks:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize(
    "runner, image, message",
    [("kubernetes", None, "must be one of"), ("subprocess", "tpuest:dev", "only by the docker")],
)
def test_run_local_refuses_an_unknown_runner_or_an_image_it_would_ignore(
    runner, image, message, tmp_path
):
    with pytest.raises(ValueError, match=message):
        run_local(penguins_csv(), str(tmp_path / "root"), runner=runner, image=image)
    assert not (tmp_path / "root").exists()
