"""Two kfp.local defects fixed for the duration of a local run (both open upstream).

- SubprocessRunner rewrites every `python3` substring in a task's arguments into sys.executable
  (kfp/local/subprocess_task_handler.py `replace_python_executable`, kubeflow/pipelines#14459):
  an input, module file or root whose path contains `python3` (any packaged install: the
  embedded data sits under .../lib/python3.11/site-packages) reaches the step mangled. Here only
  the launcher's own `python3` command word is rewritten; arguments pass intact.
- DockerRunner reads a container's exit code after the container removed itself, takes the
  resulting NotFound for exit 0 and reports a failed task as SUCCESS (kubeflow/pipelines#13332).
  Here the container is kept until its exit code is read (pipelines/docker_runner.py).
- SubprocessRunner's tasks outlive a run that is SIGKILLed; here they end with it
  (pipelines/task_process.py).
"""

from __future__ import annotations

import contextlib
import re
import threading

# The launcher runs `python3 -m kfp.dsl.executor_main ...` (and `python3 -m pip` when a
# component installs packages): only such a command word is the interpreter.
_PYTHON3_COMMAND = re.compile(r"(?<![\w./-])python3(?= -m )")
_LAUNCHER = "kfp.dsl.executor_main"
_lock = threading.Lock()


def replace_python_executable(full_command: list[str], new_executable: str) -> list[str]:
    """kfp's rewrite limited to the launcher: elements up to the one that starts the executor
    (KFP's `sh -ec` script) get `python3 -m` replaced; the component source and every argument
    after it (the executor input with its paths) are passed unchanged."""
    launcher_end = next(
        (i for i, part in enumerate(full_command) if _LAUNCHER in part), len(full_command) - 1
    )
    return [
        _PYTHON3_COMMAND.sub(new_executable, part) if i <= launcher_end else part
        for i, part in enumerate(full_command)
    ]


@contextlib.contextmanager
def applied(docker_run=None):
    """Installs the fixed functions into kfp.local while the block runs (a nested block
    restores what the outer one installed).

    Args:
        docker_run: replaces kfp's `run_docker_container` (the Docker runner's container
            lifecycle) when given; see docker_runner.run_container.
    """
    from kfp.local import subprocess_task_handler

    from pipelines.task_process import run_task

    targets = [
        (subprocess_task_handler, "replace_python_executable", replace_python_executable),
        (subprocess_task_handler, "run_local_subprocess", run_task),
    ]
    if docker_run is not None:
        from kfp.local import docker_task_handler

        targets.append((docker_task_handler, "run_docker_container", docker_run))
    with _lock:
        originals = {(m, name): getattr(m, name) for m, name, _ in targets}
        for module, name, fixed in targets:
            setattr(module, name, fixed)
    try:
        yield
    finally:
        with _lock:
            for (module, name), original in originals.items():
                setattr(module, name, original)
