"""Attacks on the prepare step (issue 23 items 3 and 8): each ends with a clear error, nothing lost."""

import os

import pytest

from components import prepare
from components.prepare import MalformedInputError


def write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


@pytest.fixture
def table(tmp_path):
    """A CSV in data/ beside an unrelated file: what an overwrite must never delete."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("keep me\n")
    return write(data / "in.csv", "x,y\n" + "".join(f"{i},{'ab'[i % 2]}\n" for i in range(20)))


def assert_inputs_intact(table):
    assert os.path.isfile(table)
    assert os.path.isfile(os.path.join(os.path.dirname(table), "notes.txt"))


@pytest.mark.parametrize("where", ["input_dir", "parent", "input_file"])
def test_overwrite_refuses_an_output_that_is_or_holds_an_input(tmp_path, table, where):
    output = {
        "input_dir": os.path.dirname(table),
        "parent": str(tmp_path),
        "input_file": table,
    }[where]
    with pytest.raises(ValueError, match=f"output directory {output} (is|contains) the input"):
        prepare.run([table], output, label="y", overwrite=True)
    assert_inputs_intact(table)
    assert [p for p in os.listdir(tmp_path) if ".tmp-" in p] == []  # no staging dir left


def test_overwrite_refuses_the_working_directory(tmp_path, table, monkeypatch):
    work = tmp_path / "w" / "work"
    work.mkdir(parents=True)
    (work / "mine.txt").write_text("keep\n")
    monkeypatch.chdir(work)
    with pytest.raises(ValueError, match="output directory . is the working directory"):
        prepare.run([table], ".", label="y", overwrite=True)
    with pytest.raises(ValueError, match="contains the working directory"):
        prepare.run([table], "..", label="y", overwrite=True)
    assert (work / "mine.txt").read_text() == "keep\n"


def test_overwrite_refuses_the_home_directory(tmp_path, table, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(ValueError, match="is the home directory"):
        prepare.run([table], str(home), label="y", overwrite=True)


def test_an_output_beside_the_inputs_is_fine(tmp_path, table):
    result = prepare.run([table], str(tmp_path / "examples"), label="y")
    assert sum(result.counts.values()) == 20
    assert_inputs_intact(table)


def test_a_non_empty_output_without_overwrite_is_refused(tmp_path, table):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("")
    with pytest.raises(FileExistsError, match="exists and is not empty"):
        prepare.run([table], str(tmp_path / "out"), label="y")


def test_csv_and_jsonl_with_different_columns_name_both_files_and_the_columns(tmp_path):
    csv_path = write(tmp_path / "a.csv", "x,y\n1,a\n2,b\n3,a\n")
    jsonl = write(tmp_path / "b.jsonl", '{"z": 1, "y": "a"}\n{"z": 2, "y": "b"}\n')
    message = rf"b.jsonl: keys \['z'\] are not columns of {csv_path} \['x', 'y'\]"
    with pytest.raises(MalformedInputError, match=message):
        prepare.run([csv_path, jsonl], str(tmp_path / "out"), label="y")
    assert not (tmp_path / "out").exists()


def test_csv_files_with_different_headers_are_named(tmp_path):
    a = write(tmp_path / "a.csv", "x,y\n1,a\n")
    b = write(tmp_path / "b.csv", "x,w\n1,a\n")
    with pytest.raises(MalformedInputError, match="b.csv: header columns"):
        prepare.run([a, b], str(tmp_path / "out"), label="y")


def test_an_empty_file_is_named(tmp_path):
    empty = write(tmp_path / "empty.csv", "")
    with pytest.raises(MalformedInputError, match="empty.csv"):
        prepare.run([empty], str(tmp_path / "out"), label="y")
