"""`tpuest demo` from a packaged (non-editable) install under a path containing `python3`."""

import json
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from pipelines.kfp_local_fixes import replace_python_executable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAUNCHER = (
    'program_path=$(mktemp -d)\nprintf "%s" "$0" > "$program_path/ephemeral_component.py"\n'
    "_KFP_RUNTIME=true python3 -m kfp.dsl.executor_main --component_module_path "
    '"$program_path/ephemeral_component.py" "$@"\n'
)


def test_only_the_launcher_s_python3_becomes_the_interpreter():
    source = "def step(x: str):\n    print('python3 -m y')\n"
    executor_input = json.dumps({"input_pattern": "/w/python3-work/lib/python3.11/a.csv"})
    command = ["sh", "-ec", LAUNCHER, source, "--executor_input", executor_input]
    replaced = replace_python_executable(command, "/venv/bin/python")
    assert "_KFP_RUNTIME=true /venv/bin/python -m kfp.dsl.executor_main" in replaced[2]
    assert replaced[:2] + replaced[3:] == command[:2] + command[3:]


def _install_non_editable(prefix) -> str:
    """A venv under `prefix` holding tpuest built from a copy of the sources (no -e), its other
    packages read from the running environment; returns its bin directory."""
    src = prefix / "src"
    for name in ("estimator_core", "components", "pipelines", "bench"):
        shutil.copytree(
            os.path.join(ROOT, name), src / name, ignore=shutil.ignore_patterns("__pycache__")
        )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(os.path.join(ROOT, name), src / name)
    venv = prefix / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_path('purelib'))",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # A bare directory line: the running environment's packages, but not its .pth files (which
    # would put the editable checkout back on the path).
    with open(os.path.join(site, "zz_shared.pth"), "w") as f:
        f.write(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            str(src),
        ],
        check=True,
        cwd=prefix,
    )
    return str(venv / "bin")


@pytest.mark.slow
def test_demo_from_a_packaged_install_in_a_python3_directory_ends_blessed(tmp_path):
    work = tmp_path / "python3-work"
    work.mkdir()
    bin_dir = _install_non_editable(work)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TMPDIR"] = str(work)
    where = subprocess.run(
        [f"{bin_dir}/python", "-c", "import components.datasets as d; print(d.penguins_csv())"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert "python3" in where and not where.startswith(ROOT)  # the installed copy, not the tree
    demo = subprocess.run(
        [f"{bin_dir}/tpuest", "demo", "--root", "demo", "--train-steps", "300"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "  BLESSED: " in demo.stdout
    [record] = json.loads((work / "demo" / "index.json").read_text())
    assert record["status"] == "succeeded" and record["blessed"] is True
    assert record["parameters"]["input_pattern"] == where
