"""The `tpuest` commands in README.md's and docs/components.md's sh blocks run as written."""

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import tensorflow as tf

from components import artifacts
from pipelines.tpuest import main

ROOT = Path(__file__).resolve().parents[2]
PENGUINS = "components/datasets/penguins.csv"  # the path the examples use, from the repo root


def tpuest_commands(markdown: Path) -> list[str]:
    """The `tpuest ...` lines of the ```sh blocks, backslash continuations joined."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", markdown.read_text(), flags=re.S):
        for line in re.sub(r"\\\n\s*", " ", block).splitlines():
            if line.startswith("tpuest "):
                commands.append(line)
    return commands


def run_as_written(commands: list[str], cwd: Path, monkeypatch) -> None:
    """Runs each command in `cwd` (which holds the penguins CSV at its repo-relative path)."""
    (cwd / PENGUINS).parent.mkdir(parents=True)
    shutil.copy(ROOT / PENGUINS, cwd / PENGUINS)
    monkeypatch.chdir(cwd)
    for command in commands:
        assert main(shlex.split(command)[1:]) == 0, command


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def versions(base: Path) -> list[str]:
    return sorted(d.name for d in base.iterdir() if d.name.isdigit())


def test_the_commands_are_found_in_order():
    steps = [shlex.split(c)[1] for c in tpuest_commands(ROOT / "README.md")]
    assert steps == ["prepare", "train", "evaluate", "export"]
    steps = [shlex.split(c)[1] for c in tpuest_commands(ROOT / "docs" / "components.md")]
    assert steps == ["prepare", "train", "evaluate", "export", "train", "evaluate", "export"]


def test_readme_pipeline_steps_run_as_written(tmp_path, monkeypatch):
    run_as_written(tpuest_commands(ROOT / "README.md"), tmp_path, monkeypatch)
    out = tmp_path / "out"
    assert (out / "examples" / "Split-train").is_dir()
    assert tf.train.latest_checkpoint(str(out / "model")).endswith("model.ckpt-300")
    assert (out / "eval" / artifacts.BLESSED).exists()
    (check,) = read(out / "eval" / artifacts.BLESSING_FILE)["checks"]
    assert check["rule"] == "accuracy>=0.9" and check["passed"]
    assert set(read(out / "eval" / artifacts.SLICES_FILE)["island"]) == {
        "Biscoe", "Dream", "Torgersen"
    }  # fmt: skip
    push = read(out / "serving" / artifacts.PUSH_FILE)
    assert push["pushed"] and push["global_step"] == 300
    (version,) = versions(out / "serving")
    assert push["export_path"] == f"out/serving/{version}"  # as given, relative to the cwd
    assert "serving_default:raw" in tf.saved_model.load(push["export_path"]).signatures


def serving_example(markdown: Path) -> str:
    """The python block that loads out/serving/<version> and calls its raw signature."""
    blocks = re.findall(r"^```python\n(.*?)^```", markdown.read_text(), flags=re.S | re.M)
    (block,) = [b for b in blocks if 'load("out/serving/<version>")' in b]
    return block


def test_components_doc_examples_run_as_written(tmp_path, monkeypatch):
    run_as_written(tpuest_commands(ROOT / "docs" / "components.md"), tmp_path, monkeypatch)
    out = tmp_path / "out"
    # The serving example, in a fresh process, on the first version exported above.
    serve = serving_example(ROOT / "docs" / "components.md")
    serve = serve.replace("<version>", versions(out / "serving")[0])
    serve = serve.replace(')["classes"]', ')["classes"].numpy().ravel().tolist())').replace(
        "raw(\n", "print(raw(\n", 1
    )
    done = subprocess.run(
        [sys.executable, "-c", serve], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Gentoo" in done.stdout  # what the example's comment promises
    assert (out / "eval" / artifacts.BLESSED).exists()
    assert tf.train.latest_checkpoint(str(out / "model2")).endswith("model.ckpt-600")
    (check,) = read(out / "eval2" / artifacts.BLESSING_FILE)["checks"]
    assert check["kind"] == "baseline" and check["tolerance"] == 0.01
    # The second model may or may not beat the first: the export follows the decision.
    blessed = (out / "eval2" / artifacts.BLESSED).exists()
    push = read(out / "serving" / artifacts.PUSH_FILE)
    assert push["pushed"] is blessed
    assert len(versions(out / "serving")) == 1 + blessed
    first = out / "serving" / versions(out / "serving")[0]
    assert (first / "saved_model.pb").exists()
    assert read(first / "assets.extra" / artifacts.PUSH_FILE)["checkpoint"].endswith("ckpt-300")
