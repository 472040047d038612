"""Type inference by the mostly-numeric rule, the dead letters it makes, and the run summary."""

import glob
import json
import logging
import os

import pytest

from components import prepare
from components.prepare import inputs
from components.prepare.infer import Tallies
from components.prepare.rows import NUMERIC_PERCENT
from components.schema import Schema

RULE = f"inferred: >= {NUMERIC_PERCENT}% of the column's values are numbers"


def inferred_type(texts):
    tallies = Tallies()
    tallies.add_texts("c", texts)
    return tallies.schema(("c",), None).column("c").type


@pytest.mark.parametrize(
    "texts, expected",
    [
        (["1"] * 95 + ["x"] * 5, "int"),  # exactly the rule
        (["1"] * 94 + ["x"] * 6, "string"),  # just below it
        (["1"] * 97 + ["2.5"] + ["n/a"] * 2, "float"),
        (["0", "0.5", "-0.25", "0e3", " 12 ", "1e5"], "float"),  # zeros, not leading zeros
        (["007", "8", "9"], "string"),  # a leading zero: codes
        (["1", "2", "-01"], "string"),
        (["12.5", "00.5"], "string"),
        (["99999999999999999999", "12345678901234567890"], "string"),  # beyond int64: IDs
        (["1.5"] + ["99999999999999999999"] * 2, "string"),
        (["nan", "inf", "1"], "string"),  # non-finite values are not numbers
        (["", "NA", "  ", " NA "], "string"),  # no value at all
        (["A12", "B7", "123", "C9"], "string"),  # mixed codes
    ],
    ids=[
        "95pct",
        "94pct",
        "floats",
        "zeros",
        "padded",
        "padded-neg",
        "padded-float",
        "int64",
        "int64-floats",
        "non-finite",
        "empty",
        "codes",
    ],  # fmt: skip
)
def test_inference_rule(texts, expected):
    assert inferred_type(texts) == expected


def test_tallies_merge_like_one_tally_and_name_the_smallest_examples():
    texts = ["1", "x", "007", "2", "b", "3.5"] * 3
    one, left, right = Tallies(), Tallies(), Tallies()
    one.add_texts("c", texts)
    left.add_texts("c", texts[:7])
    right.add_texts("c", texts[7:])
    assert left.merge(right).columns == one.columns
    tally = one.columns["c"]
    assert (tally.present, tally.ints, tally.floats, tally.padded) == (18, 9, 3, 3)
    assert (tally.example_other, tally.example_padded) == ("b", "007")


def write(path, text):
    path.write_text(text)
    return str(path)


def read_dead_letters(out):
    dead = []
    for path in sorted(glob.glob(os.path.join(out, "dead_letter", "*.jsonl"))):
        with open(path) as f:
            dead += [json.loads(line) for line in f]
    return dead


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """1,000 rows: 6 'not-a-number' in float column a, codes, zip codes, an empty column,
    20-digit IDs and 5 rows without a label."""
    root = tmp_path_factory.mktemp("mixed")
    lines = ["a,code,zip,empty,id,n,y"]
    for i in range(1000):
        a = "not-a-number" if i % 167 == 5 else f"{i / 8:.3f}"
        code = f"A{i}" if i % 5 == 0 else str(i)
        y = "" if i % 200 == 7 else "xy"[i % 2]
        lines.append(f"{a},{code},{i:05d},,{10**19 + i},{i},{y}")
    src = write(root / "in.csv", "\n".join(lines) + "\n")
    handler = _Records()
    logger = logging.getLogger("tpuest.prepare")
    logger.addHandler(handler)
    try:
        result = prepare.run([src], str(root / "out"), label="y")
    finally:
        logger.removeHandler(handler)
    return result, src, handler.records


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_mostly_numeric_column_is_numeric_and_its_bad_values_are_dead_letters(mixed_run):
    result, src, _ = mixed_run
    types = {c.name: c.type for c in Schema.load(result.schema_path).columns}
    assert types == {"a": "float", "code": "string", "zip": "string", "empty": "string",
                     "id": "string", "n": "int", "y": "string"}  # fmt: skip
    dead = read_dead_letters(result.output_dir)
    assert len(dead) == result.dead_letter == 11
    assert dead[0] == {
        "source": src,
        "line": 7,
        "text": "not-a-number,A5,00005,,10000000000000000005,5,y",
        "reason": f"column 'a' (float): could not convert string to float: 'not-a-number' ({RULE})",
    }
    assert sum(d["reason"] == "missing label 'y'" for d in dead) == 5
    assert result.dead_letter_reasons == {f"column 'a': not a float ({RULE})": 6,
                                          "missing label 'y'": 5}  # fmt: skip
    assert sum(result.counts.values()) == 989 and result.input_rows == 1000


def test_mixed_columns_are_warned_about_once_each_with_their_counts(mixed_run):
    result, _, records = mixed_run
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 3
    assert warnings[0].startswith(
        "prepare: column 'a' inferred float: 994 of 1000 values are numbers (99.4%); "
        "the 6 other row(s) are dead letters (e.g. 'not-a-number')"
    )
    assert warnings[1] == (
        "prepare: column 'code' kept as string: 800 of 1000 values are numbers (80.0%, below "
        f"the {NUMERIC_PERCENT}% rule; e.g. 'A0' is not)"
    )
    assert (
        "'zip' kept as string: 1000 number(s) written with a leading zero (e.g. '00000')"
        in (warnings[2])
    )
    assert set(result.mixed_columns) == {"a", "code", "zip"}
    with open(result.stats_path) as f:
        assert json.load(f)["mixed_columns"]["code"]["numbers"] == 800


def test_summary_says_rows_examples_reasons_mixed_columns_and_where_outputs_are(mixed_run):
    result, _, _ = mixed_run
    out = result.output_dir
    lines = result.summary().splitlines()
    train, eval_ = result.counts["train"], result.counts["eval"]
    assert lines[0].startswith(
        f"Examples at {out}: train={train}, eval={eval_} (1000 rows read from 1 file(s) in "
    )
    assert lines[1] == f"  dead letters: 11 in {out}/dead_letter/"
    assert lines[2] == f"    6  column 'a': not a float ({RULE})"
    assert lines[3] == "    5  missing label 'y'"
    assert lines[4] == "  mixed columns:"
    assert [line.split()[0] for line in lines[5:8]] == ["'a'", "'code'", "'zip'"]
    assert lines[8] == f"  schema: {out}/schema.json (TFX: {out}/schema.pbtxt)"
    assert (
        lines[9]
        == f"  statistics: {out}/stats.json (TFX: {out}/statistics/Split-<split>/FeatureStats.pb)"
    )
    clean = prepare.PrepareResult(out, {"train": 3}, 0, 3, f"{out}/s", f"{out}/t", "d", {})
    assert "dead letters: 0\n  schema:" in clean.summary()


def test_an_explicit_schema_wins_and_its_reasons_name_no_rule(mixed_run, tmp_path):
    result, src, _ = mixed_run
    schema = Schema.load(result.schema_path)
    columns = [c if c.name != "zip" else type(c)("zip", "int") for c in schema.columns]
    columns = [c if c.name != "a" else type(c)("a", "string") for c in columns]
    given = Schema(columns=tuple(columns), label="y")
    again = prepare.run([src], str(tmp_path / "given"), label="y", schema=given)
    assert Schema.load(again.schema_path) == given and again.mixed_columns == {}
    assert again.dead_letter_reasons == {"missing label 'y'": 5}


def test_a_column_numeric_over_every_row_but_not_in_the_sampled_head_is_numeric(tmp_path):
    rows = [f"x{i},{i % 2}" for i in range(600)]  # 6% text in the head: a string there
    rows += [f"{i},{i % 2}" for i in range(2 * inputs.SAMPLE_RECORDS)]  # 2.9% over every row
    src = write(tmp_path / "in.csv", "\n".join(["c,y", *rows]) + "\n")
    inferred = prepare.run([src], str(tmp_path / "inferred"), label="y")
    schema = Schema.load(inferred.schema_path)
    assert schema.column("c").type == "int" and inferred.dead_letter == 600
    given = prepare.run([src], str(tmp_path / "given"), label="y", schema=schema)
    for split in ("train", "eval"):
        [ours] = glob.glob(f"{inferred.output_dir}/Split-{split}/*.tfrecord.gz")
        [theirs] = glob.glob(f"{given.output_dir}/Split-{split}/*.tfrecord.gz")
        with open(ours, "rb") as a, open(theirs, "rb") as b:
            assert a.read() == b.read()


def test_json_numbers_are_numbers_and_json_strings_never_are(tmp_path):
    rows = [{"v": i * 0.5, "zip": f"{i:05d}", "n": str(i), "y": i % 2} for i in range(40)]
    rows[3]["v"] = "n/a"
    src = write(tmp_path / "in.jsonl", "\n".join(map(json.dumps, rows)) + "\n")
    result = prepare.run([src], str(tmp_path / "out"), label="y")
    types = {c.name: c.type for c in Schema.load(result.schema_path).columns}
    assert types == {"v": "float", "zip": "string", "n": "string", "y": "int"}
    [dead] = read_dead_letters(result.output_dir)
    assert dead["line"] == 4
    assert (
        dead["reason"] == f"column 'v' (float): could not convert string to float: 'n/a' ({RULE})"
    )
