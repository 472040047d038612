"""A local run's kfp.local output lands in its log file; the terminal gets one line per task."""

import io
import logging

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
