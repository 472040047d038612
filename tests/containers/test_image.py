"""The image built from the Dockerfile runs every step and the demo as a non-root user on a
read-only root without network, with the host's results; `--runner docker` runs the pipeline
in it through podman's Docker API and fails with a failing step's own error."""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from components.datasets import penguins_csv
from tests.containers import podman

pytestmark = [pytest.mark.slow, pytest.mark.container]
HARDENED = [
    "--rm",
    "--network=none",
    "--read-only",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--user=10001:10001",
]
STEPS = [  # (arguments under a root ROOT, with the data in DATA)
    ["prepare", "DATA/penguins.csv", "--output", "ROOT/examples", "--label", "species"],
    ["train", "--examples", "ROOT/examples", "--model-dir", "ROOT/model", "--train-steps", "100"],
    [
        "evaluate",
        "--examples",
        "ROOT/examples",
        "--model-dir",
        "ROOT/model",
        "--output",
        "ROOT/eval",
    ],
    [
        "export",
        "--model-dir",
        "ROOT/model",
        "--export-base",
        "ROOT/exports",
        "--evaluation",
        "ROOT/eval",
    ],
]


def writable_by_the_image_user(path):
    path.mkdir(parents=True, exist_ok=True)
    os.chown(path, 10001, 10001) if os.geteuid() == 0 else path.chmod(0o777)
    return path


def run_in_image(image, env, mounts, args):
    volumes = [f"--volume={host}:{inside}:{mode}" for host, inside, mode in mounts]
    return subprocess.run(
        ["podman", "run", *HARDENED, *volumes, image, *args],
        env=env,
        capture_output=True,
        text=True,
    )


def substituted(args, root, data):
    return [a.replace("ROOT", root).replace("DATA", data) for a in args]


def test_the_four_steps_in_the_image_give_the_host_s_results(image, podman_env, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(penguins_csv(), data / "penguins.csv")
    host, inside = tmp_path / "host", writable_by_the_image_user(tmp_path / "container")
    for step in STEPS:
        ran = subprocess.run(
            [sys.executable, "-m", "pipelines.tpuest", *substituted(step, str(host), str(data))],
            capture_output=True,
            text=True,
        )
        assert ran.returncode == 0, ran.stderr[-3000:]
        ran = run_in_image(
            image,
            podman_env,
            [(inside, "/out", "rw"), (data, "/data", "ro")],
            substituted(step, "/out", "/data"),
        )
        assert ran.returncode == 0, ran.stderr[-3000:]
        assert "Matplotlib" not in ran.stderr and "not writable" not in ran.stderr
    for split in ("Split-train", "Split-eval"):  # byte-identical examples
        [ours] = glob.glob(str(host / "examples" / split / "*.tfrecord.gz"))
        [theirs] = glob.glob(str(inside / "examples" / split / "*.tfrecord.gz"))
        assert Path(ours).read_bytes() == Path(theirs).read_bytes()
    ours = json.loads((host / "eval" / "metrics.json").read_text())
    theirs = json.loads((inside / "eval" / "metrics.json").read_text())
    assert ours.keys() == theirs.keys()
    # Same data, code and seed, but TensorFlow's multi-threaded CPU training is not
    # bit-reproducible (two host runs differ too): the same steps and examples, accuracy within
    # two examples, and both models trained.
    assert (ours["global_step"], ours["example_count"]) == (
        theirs["global_step"],
        theirs["example_count"],
    )
    np.testing.assert_allclose(
        theirs["metrics"]["accuracy"], ours["metrics"]["accuracy"], atol=2 / ours["example_count"]
    )
    assert theirs["loss"] < 0.2 and ours["loss"] < 0.2
    assert glob.glob(str(inside / "exports" / "*" / "saved_model.pb"))


def test_demo_in_the_image_ends_blessed(image, podman_env, tmp_path):
    out = writable_by_the_image_user(tmp_path / "out")
    ran = run_in_image(
        image,
        podman_env,
        [(out, "/out", "rw")],
        ["demo", "--root", "/out/demo", "--train-steps", "300"],
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "  BLESSED: " in ran.stdout
    assert "Matplotlib" not in ran.stderr and "not writable" not in ran.stderr
    [record] = json.loads((out / "demo" / "index.json").read_text())
    assert record["status"] == "succeeded" and record["blessed"] is True


def pipeline_run(docker_host, root, data, *extra):
    env = dict(os.environ, DOCKER_HOST=docker_host)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.tpuest",
            "pipeline",
            "run",
            "--local",
            "--runner",
            "docker",
            "--image",
            podman.IMAGE,
            "--input",
            str(data),
            "--root",
            str(root),
            *extra,
        ],
        env=env,
        capture_output=True,
        text=True,
    )


def test_runner_docker_runs_every_step_in_the_image(image, docker_host, tmp_path):
    ran = pipeline_run(docker_host, tmp_path / "root", penguins_csv(), "--train-steps", "100")
    assert ran.returncode == 0, ran.stderr[-3000:]
    [record] = json.loads((tmp_path / "root" / "index.json").read_text())
    assert record["status"] == "succeeded" and record["blessed"] is True
    assert os.path.isfile(os.path.join(record["export_path"], "saved_model.pb"))
    log = Path(record["log"]).read_text()
    # The steps ran in the image's interpreter, not this one.
    assert sys.executable not in log and "/tmp/tmp." in log


def test_runner_docker_fails_with_the_failing_step_s_own_error(image, docker_host, tmp_path):
    lines = Path(penguins_csv()).read_text().splitlines()
    bad = tmp_path / "unlabelled.csv"  # every row without its label: prepare rejects them all
    bad.write_text("\n".join([lines[0]] + [",".join([""] + r.split(",")[1:]) for r in lines[1:50]]))
    ran = pipeline_run(docker_host, tmp_path / "root", bad)
    assert ran.returncode == 1
    assert re.search(r"step prepare failed: [\w.]*BadDataError: 49 of 49 rows", ran.stderr)
    [record] = json.loads((tmp_path / "root" / "index.json").read_text())
    assert record["status"] == "failed" and record["error"].startswith("step prepare failed: ")
    assert "\x1b[" not in record["error"]


def containers_of(image, env) -> list[str]:
    listed = subprocess.run(
        ["podman", "ps", "--all", "--quiet", f"--filter=ancestor={image}"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


def test_a_sigkilled_runner_docker_run_leaves_no_container(
    image, docker_host, podman_env, tmp_path, spawn
):
    others = set(containers_of(image, podman_env))  # left by something else on this machine

    def ours():
        return set(containers_of(image, podman_env)) - others

    run = spawn(
        [
            sys.executable,
            "-m",
            "pipelines.tpuest",
            "pipeline",
            "run",
            "--local",
            "--runner",
            "docker",
            "--image",
            image,
            "--input",
            penguins_csv(),
            "--root",
            str(tmp_path / "root"),
            "--train-steps",
            "1000000",
        ],
        env=dict(os.environ, DOCKER_HOST=docker_host),
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    for line in run.stderr:  # one progress line per task event
        if line.startswith("  trainer ..."):
            break
    for _ in range(3000):  # the trainer's container is being created (a hang guard: 300 s)
        if ours() or run.poll() is not None:
            break
        time.sleep(0.1)
    assert ours()
    os.kill(run.pid, signal.SIGKILL)
    run.wait()
    for _ in range(1500):  # the watchdog removes it (a hang guard: 300 s)
        if not ours():
            break
        time.sleep(0.2)
    assert not ours()
