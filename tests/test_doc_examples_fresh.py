"""Every python example in README.md and docs/ runs as written in a fresh Python process.

A fresh process matters: the test session configures four logical CPU devices (conftest.py), so
an example that forgets to make its own devices would pass in-process and fail for a user.
Blocks that are not programs (signatures, skeletons) or need another environment are listed in
NOT_PROGRAMS with the reason; a new block must be one or the other.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# (file, text the block contains): why it is not run here.
NOT_PROGRAMS = {
    ("components.md", "# my_model.py"): "the module file contract: a skeleton with `...` bodies",
    ("components.md", "trainer(examples: Input[Dataset]"): "component signatures, not a program",
    ("components.md", 'load("out/serving/<version>")'): "run by test_doc_examples after "
    "the commands that make out/serving (the version is only known then)",
    ("components.md", "load_component_from_file"): "run by tests/pipelines/test_component_specs.py "
    "(it needs a trained model and kfp.local)",
    ("tfx.md", "tfx.components.Trainer("): "needs TFX (Python 3.10 venv; tests/tfx runs it)",
}


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def exempt_reason(path: Path, block: str) -> str | None:
    for (name, marker), reason in NOT_PROGRAMS.items():
        if path.name == name and marker in block:
            return reason
    return None


PROGRAMS = [
    pytest.param(block, id=f"{path.name}:{index}")
    for path in DOCS
    for index, block in enumerate(python_blocks(path))
    if exempt_reason(path, block) is None
]


def test_every_block_is_a_program_or_says_why_not():
    exempted = {
        (path.name, marker)
        for path in DOCS
        for block in python_blocks(path)
        for (name, marker) in NOT_PROGRAMS
        if path.name == name and marker in block
    }
    assert exempted == set(NOT_PROGRAMS), "an exemption names a block that is gone"
    assert len(PROGRAMS) >= 2  # the README's engine and replication examples at least


@pytest.mark.parametrize("block", PROGRAMS)
def test_the_example_runs_in_a_fresh_process(block, tmp_path):
    # Paths under /tmp in the examples go to this test's directory instead.
    code = re.sub(r'"/tmp/', f'"{tmp_path}/', block)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    for comment in re.findall(r"print\(.*\)  # (\S+)", block):
        # A printed path in the example's comment: the run printed that path (under tmp).
        if comment.startswith("/tmp/"):
            assert comment.replace("/tmp/", f"{tmp_path}/") in done.stdout, done.stdout
