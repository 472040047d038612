"""Prepare's cache key: a fingerprint of the input files and a digest of the project's code."""

import os
import shutil

from components.datasets import penguins_csv
from pipelines.local import input_fingerprint
from pipelines.training_pipeline import code_version


def test_input_fingerprint_follows_the_files_the_glob_matches(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(penguins_csv(), data / "a.csv")
    pattern = str(data / "*.csv")
    first = input_fingerprint(pattern)
    assert input_fingerprint(pattern) == first  # stable while nothing changes
    (data / "notes.txt").write_text("not matched by the glob")
    assert input_fingerprint(pattern) == first
    # A new file matching the glob (what the next scheduled run must pick up): a new key.
    (data / "b.csv").write_text("species,island\nAdelie,Dream\n")
    added = input_fingerprint(pattern)
    assert added != first
    # A changed file (the same size here, a newer mtime): a new key.
    stat = os.stat(data / "b.csv")
    (data / "b.csv").write_text("species,island\nGentoo,Dream\n")
    os.utime(data / "b.csv", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert input_fingerprint(pattern) not in (first, added)
    # Comma-separated patterns cover every file they match, in any order.
    both = f"{data / 'a.csv'},{data / 'b.csv'}"
    assert input_fingerprint(both) == input_fingerprint(pattern)
    assert input_fingerprint(str(data / "a.csv")) != input_fingerprint(both)


def test_code_version_changes_with_any_python_file_of_the_project(tmp_path):
    for package in ("estimator_core", "components"):
        (tmp_path / package / "sub").mkdir(parents=True)
        (tmp_path / package / "sub" / "mod.py").write_text("X = 1\n")
    root = str(tmp_path)
    first = code_version(root)
    assert code_version(root) == first
    (tmp_path / "components" / "README.md").write_text("docs are not code")
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "pipelines" / "x.py").write_text("outside the hashed packages")
    assert code_version(root) == first
    (tmp_path / "estimator_core" / "sub" / "mod.py").write_text("X = 2\n")
    edited = code_version(root)
    assert edited != first
    (tmp_path / "components" / "new.py").write_text("")
    added = code_version(root)
    assert added not in (first, edited)
    # The same file in another folder is another version.
    os.rename(tmp_path / "components" / "new.py", tmp_path / "components" / "sub" / "new.py")
    assert code_version(root) not in (first, edited, added)
    assert code_version() != code_version(root)  # the default is this project
