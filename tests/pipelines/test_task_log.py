"""A local run's kfp.local output lands in its log file; the terminal gets one line per task."""

import io
import logging

import pytest
from kfp import dsl, local

from pipelines import task_log


@dsl.component(base_image="tpuest-test-image:1", install_kfp_package=False)
def shout(text: str) -> str:
    print("TASK-OUTPUT", text)
    return text


@dsl.pipeline(name="shouting")
def shouting(text: str = "hello"):
    shout(text=text)


def test_task_output_goes_to_the_log_and_progress_to_the_stream(tmp_path, capsys):
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(tmp_path / "root"),
        workspace_root=str(tmp_path / "workspace"),
    )
    progress = io.StringIO()
    log_path = tmp_path / "run.log"
    with task_log.captured(str(log_path), stream=progress):
        shouting(text="hello")

    logged = log_path.read_text()
    assert "TASK-OUTPUT hello" in logged and "executor_input" in logged
    lines = progress.getvalue().splitlines()
    assert lines[0] == "  shout ..."
    assert lines[1].startswith("  shout: SUCCESS (") and lines[1].endswith("s)")
    assert "TASK-OUTPUT" not in capsys.readouterr().out
    assert not any(isinstance(f, task_log._Progress) for f in logging.getLogger().filters)


def test_tail_gives_the_last_lines(tmp_path):
    path = tmp_path / "run.log"
    path.write_text("".join(f"line {i}\n" for i in range(100)))
    assert task_log.tail(str(path), lines=2) == "line 98\nline 99\n"


@dsl.component(base_image="tpuest-test-image:1", install_kfp_package=False)
def refuse(text: str):
    raise ValueError(f"refused {text}\nsecond line")


@dsl.pipeline(name="refusing")
def refusing(text: str = "hello"):
    refuse(text=text)


@pytest.mark.slow
def test_a_failed_task_is_reported_with_its_own_error(tmp_path):
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(tmp_path / "root"),
        workspace_root=str(tmp_path / "workspace"),
    )
    with (
        task_log.captured(str(tmp_path / "run.log"), stream=io.StringIO()) as output,
        pytest.raises(RuntimeError),
    ):
        refusing(text="hello")
    assert output.failure() == "step refuse failed: ValueError: refused hello\nsecond line"


def test_last_error_takes_the_last_traceback_s_exception_lines():
    lines = [
        "    Traceback (most recent call last):",
        '      File "a.py", line 1, in <module>',
        "    KeyError: 'x'",
        "",
        "    During handling of the above exception, another exception occurred:",
        "",
        "    Traceback (most recent call last):",
        '      File "a.py", line 3, in <module>',
        "        raise components.prepare.BadDataError('all rows bad')",
        "    components.prepare.BadDataError: all rows bad",
        "",
        "    kfp chatter after the end",
    ]
    assert task_log.last_error(lines) == "components.prepare.BadDataError: all rows bad"
    assert task_log.last_error(["no traceback here"]) is None
