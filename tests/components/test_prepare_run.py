"""prepare.run end to end on real files: layout, penguins statistics, row accounting, splits."""

import csv
import glob
import gzip
import json
import math
import os

import numpy as np
import pytest
import tensorflow as tf

from components import artifacts, prepare
from components.datasets import penguins_csv
from components.prepare import inputs
from components.prepare import prepare as prepare_lib
from components.prepare import runner as runner_lib
from components.schema import Schema


def read_records(out, split):
    records = []
    for path in sorted(glob.glob(os.path.join(out, f"Split-{split}", "*.tfrecord.gz"))):
        with gzip.open(path):  # really gzip
            pass
        records += [r.numpy() for r in tf.data.TFRecordDataset(path, compression_type="GZIP")]
    return records


def read_examples(out, split):
    return [tf.train.Example.FromString(r) for r in read_records(out, split)]


def read_dead_letter(out):
    rows = []
    for path in glob.glob(os.path.join(out, "dead_letter", "*.jsonl")):
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


@pytest.fixture(scope="module")
def penguins(tmp_path_factory):
    out = str(tmp_path_factory.mktemp("penguins") / "examples")
    return prepare.run([penguins_csv()], out, label="species"), out


def test_penguins_layout_and_counts(penguins):
    result, out = penguins
    assert sorted(os.listdir(out)) == [
        "Split-eval",
        "Split-train",
        "dead_letter",
        "schema.json",
        "schema.pbtxt",
        "statistics",
        "stats.json",
    ]
    for split in ("train", "eval"):  # TFX readers take every file of a split for a TFRecord
        files = os.listdir(os.path.join(out, f"Split-{split}"))
        assert files and all(f.endswith(".tfrecord.gz") for f in files)
    assert result.input_rows == 344 and result.dead_letter == 0
    assert sum(result.counts.values()) == 344
    assert len(read_examples(out, "train")) == result.counts["train"]
    assert len(read_examples(out, "eval")) == result.counts["eval"]
    assert 0.7 < result.counts["train"] / 344 < 0.9
    schema = Schema.load(result.schema_path)
    assert schema.label == "species"
    assert {c.name: c.type for c in schema.columns} == {
        "species": "string", "island": "string", "bill_length_mm": "float",
        "bill_depth_mm": "float", "flipper_length_mm": "int", "body_mass_g": "int",
        "sex": "string", "year": "int",
    }  # fmt: skip
    assert not [p for p in os.listdir(os.path.dirname(out)) if ".tmp-" in p]


def test_penguins_statistics_match_numpy_over_the_csv(penguins):
    result, _ = penguins
    with open(result.stats_path) as f:
        stats = json.load(f)
    with open(penguins_csv(), newline="") as f:
        rows = list(csv.DictReader(f))
    assert stats["num_rows"] == {"input": 344, **result.counts, "dead_letter": 0}
    for name in ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"):
        values = np.array([float(r[name]) for r in rows if r[name] != "NA"])
        got = stats["columns"][name]
        assert got["count"] == len(values) and got["missing"] == 344 - len(values)
        assert got["min"] == values.min() and got["max"] == values.max()
        assert got["mean"] == pytest.approx(values.mean(), rel=1e-12, abs=1e-9)
        assert got["std"] == pytest.approx(values.std(), rel=1e-9, abs=1e-9)
    for name in ("species", "island", "sex"):
        present = [r[name] for r in rows if r[name] != "NA"]
        got = stats["columns"][name]
        assert got["missing"] == 344 - len(present)
        assert got["vocabulary"] == {v: present.count(v) for v in set(present)}
    assert stats["columns"]["sex"]["missing"] == 11


def test_missing_values_are_absent_features(penguins):
    _, out = penguins
    examples = read_examples(out, "train") + read_examples(out, "eval")
    sizes = sorted(len(e.features.feature) for e in examples)
    assert sizes.count(8) == 333 and sizes[:2] == [3, 3]  # all-NA rows keep species, island, year
    one = next(e.features.feature for e in examples if len(e.features.feature) == 8)
    assert one["species"].bytes_list.value and one["bill_length_mm"].float_list.value
    assert one["year"].int64_list.value


def write(path, text, mode="w"):
    with open(path, mode) as f:
        f.write(text)
    return str(path)


def membership(out):
    return {
        # Raw bytes as written: worker processes must encode the same row identically.
        split: sorted(read_records(out, split))
        for split in ("train", "eval")
    }


def test_same_input_same_membership_and_every_row_accounted(tmp_path):
    lines = ["id,x,y"] + [f"{i},{i * 0.5},{'ab'[i % 2]}" for i in range(300)]
    lines += ["bad", "7,notanumber,a", "8,1.0,", "9,1,2,3"]
    src = write(tmp_path / "in.csv", "\n".join(lines) + "\n")
    first = prepare.run([src], str(tmp_path / "a"), label="y", schema=None, max_bad_fraction=0.5)
    again = prepare.run(
        [src],
        str(tmp_path / "b"),
        label="y",
        direct_num_workers=2,
        direct_running_mode="multi_processing",  # tiny input: it would run in threads
        max_bad_fraction=0.5,
    )
    assert first.counts == again.counts
    assert membership(str(tmp_path / "a")) == membership(str(tmp_path / "b"))
    # 'x' is inferred float (301 of its 302 values are numbers): 'notanumber' is a dead letter.
    assert sum(first.counts.values()) + first.dead_letter == first.input_rows == 304
    reasons = {d["line"]: d["reason"] for d in read_dead_letter(str(tmp_path / "a"))}
    assert reasons[302] == "expected 3 fields, got 1"
    assert reasons[303].startswith("column 'x' (float): could not convert string to float")
    assert reasons[304] == "missing label 'y'"
    assert reasons[305] == "expected 3 fields, got 4"
    dead = read_dead_letter(str(tmp_path / "a"))
    assert all(d["source"].endswith("in.csv") and d["text"] for d in dead)


def test_explicit_schema_rejects_values_of_the_wrong_type(tmp_path):
    src = write(tmp_path / "in.csv", "id,x,y\n1,0.5,a\n2,oops,b\n3,1.5,a\n")
    schema = write(tmp_path / "schema.json", json.dumps(
        {"version": 1, "label": "y", "columns": [
            {"name": "id", "type": "int"}, {"name": "x", "type": "float"},
            {"name": "y", "type": "string"}]}))  # fmt: skip
    result = prepare.run(
        [src], str(tmp_path / "out"), label="y", schema=schema, max_bad_fraction=0.5
    )
    assert result.dead_letter == 1 and sum(result.counts.values()) == 2
    [dead] = read_dead_letter(str(tmp_path / "out"))
    assert dead == {
        "source": src,
        "line": 3,
        "text": "2,oops,b",
        "reason": "column 'x' (float): could not convert string to float: 'oops'",
    }


def test_split_key_keeps_rows_of_one_key_together(tmp_path):
    lines = ["user,v,y"] + [f"u{i % 20},{i},{i % 3}" for i in range(400)]
    src = write(tmp_path / "in.csv", "\n".join(lines))
    prepare.run([src], str(tmp_path / "out"), label="y", split_key="user",
                splits="train=0.5,eval=0.3,test=0.2")  # fmt: skip
    users = {
        split: {
            e.features.feature["user"].bytes_list.value[0]
            for e in read_examples(str(tmp_path / "out"), split)
        }
        for split in ("train", "eval", "test")
    }
    assert sum(map(len, users.values())) == 20
    assert not (users["train"] & users["eval"] or users["train"] & users["test"])


def test_json_lines_with_nulls_and_quoted_csv_multiline(tmp_path):
    src = write(
        tmp_path / "in.jsonl",
        '{"a": 1, "b": "x", "y": 1}\n{"a": null, "y": 0}\n\n{"a": 2.5, "b": "z", "y": 1}\n',
    )
    result = prepare.run([src], str(tmp_path / "j"), label="y", splits={"train": 1.0})
    assert result.counts == {"train": 3}
    schema = Schema.load(result.schema_path)
    assert [(c.name, c.type) for c in schema.columns] == [
        ("a", "float"),
        ("b", "string"),
        ("y", "int"),
    ]
    quoted = write(tmp_path / "q.csv", 'id,text,y\n1,"two\nlines, and a comma",a\n2,plain,b\n')
    result = prepare.run([quoted], str(tmp_path / "q"), label="y", splits={"train": 1.0})
    texts = {
        e.features.feature["text"].bytes_list.value[0].decode()
        for e in read_examples(str(tmp_path / "q"), "train")
    }
    assert texts == {"two\nlines, and a comma", "plain"} and result.dead_letter == 0


def test_too_many_bad_rows_fail_after_writing_dead_letters(tmp_path):
    src = write(tmp_path / "in.csv", "x,y\n1,a\n2,\n3,\n4,b\n")
    out = tmp_path / "out"
    with pytest.raises(prepare.BadDataError) as info:
        prepare.run([src], str(out), label="y")
    message = str(info.value)
    assert "0.5000 > max_bad_fraction 0.05" in message
    dead_dir = message.split("reasons in ")[1].split(" (")[0]
    assert len(read_dead_letter(os.path.dirname(dead_dir))) == 2
    assert not out.exists()


def test_refuses_non_empty_output_unless_overwrite(tmp_path):
    src = write(tmp_path / "in.csv", "x,y\n1,a\n2,b\n")
    out = tmp_path / "out"
    out.mkdir()
    write(out / "keep.txt", "old")
    with pytest.raises(FileExistsError, match="not empty"):
        prepare.run([src], str(out), label="y")
    prepare.run([src], str(out), label="y", overwrite=True)
    assert not (out / "keep.txt").exists() and (out / artifacts.STATS_FILE).exists()


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "file is empty"),
        (b"x,y\n", "header but no data rows"),
        (b"x,y\n1,a\n2,b\n3,\xe9t\xe9\n", r"line 4 is not valid UTF-8 \(byte 0xe9 at column 3\)"),
        (b"x,y\n1,a\n2," + b"b" * (10 << 20) + b"\n", "line 3 is longer than 1048576 bytes"),
        (b"x,x\n1,2\n", r"header repeats column names \['x'\]"),
    ],
    ids=["empty", "header-only", "not-utf8", "10mb-line", "dup-header"],
)
def test_malformed_files_name_the_file(tmp_path, content, match):
    src = write(tmp_path / "bad.csv", content, "wb")
    with pytest.raises(prepare.MalformedInputError, match=match) as info:
        prepare.run([src], str(tmp_path / "out"), label="y")
    assert str(info.value).startswith(src)
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p or p == "out"]


def test_missing_pattern_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing-here/\\*.csv' matches no files"):
        prepare.run([str(tmp_path / "nothing-here/*.csv")], str(tmp_path / "out"), label="y")


def test_default_runner_is_in_process_and_never_downloads_prism(tmp_path, monkeypatch):
    from apache_beam.runners.portability import prism_runner

    def no_prism(*args, **kwargs):
        raise AssertionError("Prism code path used")

    monkeypatch.setattr(prism_runner.PrismRunner, "__init__", no_prism)
    monkeypatch.setattr(prism_runner.PrismJobServer, "local_bin", no_prism)
    used = []
    make_pipeline = runner_lib.make_pipeline
    monkeypatch.setattr(
        prepare_lib,
        "make_pipeline",
        lambda options: used.append(make_pipeline(options)) or used[-1],
    )
    src = write(tmp_path / "in.csv", "x,y\n1,a\n2,b\n")
    prepare.run([src], str(tmp_path / "out"), label="y")
    assert type(used[0].runner).__name__ == "FnApiRunner"
    options = runner_lib.pipeline_options(
        ["--runner=DataflowRunner", "--project=p"], direct_num_workers=2
    )
    assert options.get_all_options()["runner"] == "DataflowRunner"
    assert options.get_all_options()["direct_running_mode"] == "multi_processing"
    assert math.isclose(
        prepare.PrepareResult("o", {}, 0, 0, "", "", "", {}).bad_fraction, 0.0, abs_tol=1e-12
    )


def output_files(out):
    """{relative path: bytes} of every example file."""
    files = {}
    for path in glob.glob(os.path.join(out, "Split-*", "*")):
        with open(path, "rb") as f:
            files[os.path.relpath(path, out)] = f.read()
    return files


def test_example_files_are_identical_across_runs_and_worker_counts(tmp_path):
    lines = ["id,x,y"] + [f"{i},{i * 0.25},{'abc'[i % 3]}" for i in range(3000)]
    src = write(tmp_path / "in.csv", "\n".join(lines) + "\n")
    one = prepare.run([src], str(tmp_path / "one"), label="y")
    two = prepare.run(
        [src],
        str(tmp_path / "two"),
        label="y",
        direct_num_workers=2,
        direct_running_mode="multi_processing",
    )
    assert one.counts == two.counts and sum(one.counts.values()) == 3000
    files = output_files(str(tmp_path / "one"))
    assert files == output_files(str(tmp_path / "two")) and len(files) >= 2


def test_types_widened_after_the_sampled_head_are_inferred_over_every_row(tmp_path):
    # More rows than the sample: 'x' looks like int at the head of the file, a float at the end.
    rows = [f"{i},{i % 100},{'ab'[i % 2]}" for i in range(2 * inputs.SAMPLE_RECORDS)]
    src = write(tmp_path / "in.csv", "\n".join(["id,x,y", *rows, "-1,0.5,a"]) + "\n")
    inferred = prepare.run([src], str(tmp_path / "inferred"), label="y")
    schema = Schema.load(inferred.schema_path)
    assert schema.column("x").type == "float" and inferred.dead_letter == 0
    prepare.run([src], str(tmp_path / "given"), label="y", schema=schema)
    assert output_files(str(tmp_path / "inferred")) == output_files(str(tmp_path / "given"))
    with open(inferred.stats_path) as f:
        assert json.load(f)["columns"]["x"]["max"] == 99.0


def test_json_keys_first_seen_after_the_sampled_head_become_columns(tmp_path):
    rows = [json.dumps({"a": i, "y": i % 2}) for i in range(2 * inputs.SAMPLE_RECORDS)]
    rows.append(json.dumps({"a": 1, "late": "z", "y": 1}))
    src = write(tmp_path / "in.jsonl", "\n".join(rows) + "\n")
    result = prepare.run([src], str(tmp_path / "out"), label="y")
    assert Schema.load(result.schema_path).names == ["a", "y", "late"]
    assert result.dead_letter == 0 and sum(result.counts.values()) == len(rows)


def test_small_inputs_run_in_threads_unless_a_mode_is_given():
    def mode(**kwargs):
        options = runner_lib.pipeline_options(**kwargs).get_all_options()
        return options["direct_running_mode"], options["direct_num_workers"]

    small, large = 1 << 20, runner_lib.MULTI_PROCESSING_MIN_BYTES
    assert mode(direct_num_workers=2, input_bytes=small) == ("multi_threading", 2)
    assert mode(direct_num_workers=0, input_bytes=small) == ("multi_threading", 0)
    assert mode(direct_num_workers=2, input_bytes=large) == ("multi_processing", 2)
    assert mode(direct_num_workers=2) == ("multi_processing", 2)
    assert mode(direct_num_workers=2, direct_running_mode="multi_threading", input_bytes=small) == (
        "multi_threading",
        2,
    )
    assert mode(direct_num_workers=1, input_bytes=large) == ("in_memory", 1)
