"""prepare on Beam's portability path (a local job service, LOOPBACK workers) writes exactly what
the default in-process runner writes: the job API Flink, Spark and Dataflow take."""

import glob
import os
import signal
import subprocess
import sys
import time

import pytest

from components import prepare


def start_job_service(tmp_path):
    """A local job service on a free localhost port; returns (process, endpoint)."""
    port_file = tmp_path / "job_service.port"
    with open(tmp_path / "job_service.log", "w") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [sys.executable, "-m", "apache_beam.runners.portability.local_job_service_main",
             "--port", "0", "--port_file", str(port_file)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while not port_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            raise RuntimeError(
                f"job service did not start: {(tmp_path / 'job_service.log').read_text()}"
            )
        time.sleep(0.2)
    return process, f"localhost:{port_file.read_text().strip()}"


def stop(process):
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the service and nothing else
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def job_endpoint(tmp_path):
    process, endpoint = start_job_service(tmp_path)
    try:
        yield endpoint
    finally:
        stop(process)


def output_files(out):
    """{relative path: bytes} of every file prepare wrote."""
    files = {}
    for path in glob.glob(os.path.join(out, "**", "*"), recursive=True):
        if os.path.isfile(path):
            with open(path, "rb") as f:
                files[os.path.relpath(path, out)] = f.read()
    return files


@pytest.mark.slow
def test_portable_runner_through_a_local_job_service_writes_what_the_default_runner_writes(
    tmp_path, job_endpoint
):
    lines = ["id,x,code,y"]
    lines += [f"{i},{'oops' if i % 97 == 3 else i * 0.25},{'c' if i % 4 else ''}{i},{'ab'[i % 2]}"
              for i in range(1500)]  # fmt: skip
    lines += ["1,2", "7,1.5,c7,"]  # a wrong field count, a missing label
    paths = []
    for part in range(2):  # two files: two chunks run as separate bundles
        path = tmp_path / f"in-{part}.csv"
        path.write_text("\n".join([lines[0], *lines[1 + part :: 2]]) + "\n")
        paths.append(str(path))
    default = prepare.run(paths, str(tmp_path / "default"), label="y")
    portable = prepare.run(
        paths,
        str(tmp_path / "portable"),
        label="y",
        beam_options=[
            "--runner=PortableRunner",
            f"--job_endpoint={job_endpoint}",
            "--environment_type=LOOPBACK",
        ],
    )
    assert portable.counts == default.counts and portable.dead_letter == default.dead_letter > 2
    assert portable.dead_letter_reasons == default.dead_letter_reasons
    ours, theirs = output_files(default.output_dir), output_files(portable.output_dir)
    assert sorted(ours) == sorted(theirs)
    assert [p for p in ours if p.endswith(".tfrecord.gz")] and [
        p for p in ours if "dead_letter" in p
    ]
    for path in ours:  # examples, dead letters, schemas and statistics, byte for byte
        assert ours[path] == theirs[path], path
    # The portable run really went through the service: one job, finished.
    assert (tmp_path / "job_service.log").read_text().count("with state DONE") == 1
