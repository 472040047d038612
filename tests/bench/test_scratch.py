"""Benchmarks leave nothing behind in the temporary directory, even when they fail."""

import os
import subprocess
import sys
import tempfile

import pytest

from bench.scratch import cleaned_up


def test_files_from_the_run_and_its_subprocesses_are_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    made = []

    @cleaned_up
    def inner():
        made.append(tempfile.mkdtemp(prefix="model_"))
        return "inner"

    @cleaned_up
    def run():
        made.append(tempfile.mkdtemp(prefix="model_"))
        child = "import tempfile; print(tempfile.mkdtemp(prefix='peer_'))"
        out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
        made.append(out.stdout.strip())
        assert inner() == "inner" and os.path.isdir(made[-1])  # nested: not removed early
        return "done"

    assert run() == "done"
    assert len(made) == 3 and all(p.startswith(str(tmp_path)) for p in made)
    assert not any(os.path.exists(p) for p in made)
    assert os.listdir(tmp_path) == []
    assert os.environ["TMPDIR"] == str(tmp_path) and tempfile.tempdir == str(tmp_path)


def test_a_failing_run_is_cleaned_up_too(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    @cleaned_up
    def run():
        tempfile.mkdtemp()
        raise RuntimeError("benchmark failed")

    with pytest.raises(RuntimeError, match="benchmark failed"):
        run()
    assert os.listdir(tmp_path) == []
