"""The docker runner's pieces without a Docker daemon: mounts, and the container lifecycle that
reads the exit code before removing the container (kubeflow/pipelines#13332)."""

import pytest

from pipelines import docker_runner


class FakeContainer:
    def __init__(self, code, refuse_start=None):
        self.id, self.code, self.removed = "c0ffee", code, False
        self.refuse_start = refuse_start

    def start(self):
        if self.refuse_start:
            raise self.refuse_start

    def logs(self, stream, follow):
        yield b"step output\n"

    def wait(self):
        if self.removed:  # what Docker says once an auto-removed container is gone
            raise AssertionError("exit code read after removal")
        return {"StatusCode": self.code}

    def remove(self, force):
        self.removed = force


class FakeClient:
    def __init__(self, code, refuse_start=None):
        self.container, self.run_args = FakeContainer(code, refuse_start), None

    @property
    def containers(self):
        return self

    def create(self, **kwargs):
        self.run_args = kwargs
        return self.container


@pytest.mark.parametrize("code", [0, 1, 137])
def test_the_exit_code_is_read_before_the_container_is_removed(code, capsys):
    client = FakeClient(code)
    got = docker_runner.run_container(
        client,
        "ghcr.io/tpuest/tpuest:0.1.0",
        ["sh", "-ec", "x"],
        {},
        use_image="tpuest:dev",
        auto_remove=True,
        stdout=True,
        stderr=True,
        user="1000:1000",
    )
    assert got == code and client.container.removed
    assert client.run_args["image"] == "tpuest:dev" and "auto_remove" not in client.run_args
    assert "stdout" not in client.run_args  # containers.create takes no stdout/stderr
    assert client.run_args["user"] == "1000:1000"
    assert "step output" in capsys.readouterr().out


def test_a_container_the_daemon_refuses_to_start_is_removed():
    import docker

    refused = docker.errors.APIError("error setting rlimits for ready process")
    client = FakeClient(0, refuse_start=refused)
    with pytest.raises(docker.errors.APIError, match="rlimits"):
        docker_runner.run_container(client, "i", ["sh"], {}, use_image="tpuest:dev")
    assert client.container.removed


def test_mount_dirs_keep_only_the_outermost_directories(tmp_path):
    (tmp_path / "data" / "more").mkdir(parents=True)
    for name in ("data/a.csv", "data/more/b.csv", "model.py"):
        (tmp_path / name).write_text("x")
    paths = docker_runner.step_paths(
        f"{tmp_path}/data/*.csv, {tmp_path}/data/more/b.csv", str(tmp_path / "model.py")
    )
    assert docker_runner.mount_dirs(paths) == [str(tmp_path)]
    assert docker_runner.mount_dirs(paths[:2]) == [str(tmp_path / "data")]


def test_a_module_name_is_not_mounted():
    assert docker_runner.step_paths("", "my_package.model") == []


def test_log_chunks_cut_anywhere_reach_the_report_as_whole_lines(capsys):
    from kfp.local import logging_utils

    text = "Traceback (most recent call last):\nBadDataError: 49 of 49 rows — rejected\n"
    raw = text.encode() + b"no newline at the end"
    chunks = [raw[i : i + 5] for i in range(0, len(raw), 5)]  # cuts inside "—" too
    assert list(docker_runner.whole_lines(chunks)) == [
        "Traceback (most recent call last):\n",
        "BadDataError: 49 of 49 rows — rejected\n",
        "no newline at the end",
    ]
    client = FakeClient(1)
    client.container.logs = lambda stream, follow: iter(chunks)
    with logging_utils.indented_print():  # what kfp.local wraps a task's output in
        docker_runner.run_container(client, "i", ["sh"], {}, use_image="tpuest:dev")
    out = capsys.readouterr().out
    assert "    BadDataError: 49 of 49 rows — rejected\n" in out
