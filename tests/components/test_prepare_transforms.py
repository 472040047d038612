"""Each prepare piece on its own: inference, batch parsing, splits, encoding, stats, the transform."""

import glob
import gzip
import json
import random

import apache_beam as beam
import numpy as np
import pytest
import tensorflow as tf
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from tensorflow.core.example import example_pb2

from components import statistics as stats_lib
from components.prepare import reading
from components.prepare import rows as rows_lib
from components.prepare import splits as splits_lib
from components.prepare.batch import BatchParser
from components.prepare.encode import ExampleEncoder, TFRecordFile
from components.prepare.infer import Tallies
from components.prepare.inputs import InputFile
from components.prepare.reading import Records
from components.prepare.transforms import PrepareExamples
from components.schema import Column, Schema

HEADER = ("y", "n", "x", "s")
CSV_TEXTS = ["cat,1,1.5,red", "dog,2,NA,", "cat,3,2,blue", "bad,row"]
SCHEMA = Schema(
    columns=(
        Column("y", "string"),
        Column("n", "int"),
        Column("x", "float"),
        Column("s", "string"),
    ),
    label="y",
)


def make_pipeline():
    # DirectRunner would first try to download Prism; tests run in-process like prepare does.
    return BeamTestPipeline(runner=FnApiRunner())


def records(texts, first_line=2):
    return Records(list(range(first_line, first_line + len(texts))), list(texts))


def test_inference_widens_int_float_string_over_every_row():
    tallies = Tallies()
    tallies.add_csv(HEADER, CSV_TEXTS)
    assert tallies.schema(HEADER, "y") == SCHEMA  # 'bad,row' has 2 fields: left to validation
    tallies.add_csv(HEADER, ["cat,4,x7,green"])  # 2 numbers of 3 values: below the rule
    assert tallies.schema(HEADER, "y").column("x").type == "string"


def test_inference_from_json_lines_unions_keys_after_the_first_rows_order():
    tallies = Tallies()
    tallies.add_json_texts(("b", "a"), ['{"b": 1, "a": 2.5}', '{"a": 3, "c": "7"}'])
    expected = Schema(columns=(Column("b", "int"), Column("a", "float"), Column("c", "string")))
    assert tallies.schema(("b", "a"), None) == expected  # a quoted JSON "7" is text
    with pytest.raises(ValueError, match="label column 'y' is not in the data"):
        tallies.schema(("b", "a"), "y")
    assert tallies.schema(("b", "a"), "y", provisional=True).column("y").type == "string"


def test_batch_parser_types_values_and_sends_bad_rows_to_dead_letter_with_their_line():
    texts = [*CSV_TEXTS, ",4,1,red", "cat,1.5,1,red", "cat,99999999999999999999,1,red", "ok,5,1,"]
    batch = BatchParser(SCHEMA).parse("a.csv", "csv", HEADER, records(texts))
    assert [dict(zip(SCHEMA.names, row)) for row in zip(*batch.columns)] == [
        {"y": "cat", "n": 1, "x": 1.5, "s": "red"},
        {"y": "dog", "n": 2, "x": None, "s": None},  # NA and "" are missing, not errors
        {"y": "cat", "n": 3, "x": 2.0, "s": "blue"},
        {"y": "ok", "n": 5, "x": 1.0, "s": None},  # rows after bad ones keep their place
    ]
    assert [(d["line"], d["reason"]) for d in batch.dead_letters] == [
        (5, "expected 4 fields, got 2"),
        (6, "missing label 'y'"),
        (7, "column 'n' (int): invalid literal for int() with base 10: '1.5'"),
        (8, "column 'n' (int): 99999999999999999999 is outside the int64 range"),
    ]
    assert all(
        d["source"] == "a.csv" and d["text"] == texts[d["line"] - 2] for d in batch.dead_letters
    )


def test_batch_parser_keys_by_split_key_column_or_whole_row():
    texts = CSV_TEXTS[:2]
    by_row = BatchParser(SCHEMA).parse("a.csv", "csv", HEADER, records(texts))
    by_key = BatchParser(SCHEMA, split_key="s").parse("a.csv", "csv", HEADER, records(texts))
    assert by_row.keys == ["cat,1,1.5,red", "dog,2,NA,"]
    assert by_key.keys == ["red", ""]


def test_batch_parser_agrees_with_the_row_parser_on_messy_values():
    rng = random.Random(7)
    pieces = {
        "int": ["1", " 2 ", "-3", "NA", " NA ", "", "  ", "1.5", "x", "1_000", "99999999999999999999"],
        "float": ["1.5", " 2", "-0.0", "NA", "", "nan", "inf", "1e400", "1e5", "abc", "3,"],
        "string": ["a", " b ", "NA", " ", "", '"q, uoted"', 'x"y'],
    }  # fmt: skip
    schema = Schema(
        columns=(Column("i", "int"), Column("f", "float"), Column("s", "string")), label="s"
    )
    header = ("f", "s", "i")  # another order than the schema's
    texts = [
        ",".join(rng.choice(pieces[schema.column(name).type]) for name in header)
        for _ in range(3000)
    ]
    row_parser = rows_lib.RowParser(schema)
    expected_rows, expected_dead = [], []
    for line, text in enumerate(texts, 2):
        try:
            expected_rows.append(row_parser("csv", header, text))
        except rows_lib.BadRow as e:
            expected_dead.append((line, str(e)))
    batch = BatchParser(schema).parse("m.csv", "csv", header, records(texts))
    got_rows = [
        {k: v for k, v in zip(schema.names, row) if v is not None} for row in zip(*batch.columns)
    ]
    assert got_rows == expected_rows
    assert [(d["line"], d["reason"]) for d in batch.dead_letters] == expected_dead
    assert len(expected_rows) > 100 and len(expected_dead) > 100


def test_batch_parser_verifying_an_inferred_schema_tallies_like_full_inference():
    sample = Tallies()
    sample.add_csv(HEADER, CSV_TEXTS[:1] + ["cat,1,1.5,"])
    later = ["cat,2.5,1,red", "dog,3,,NA", "NA,7,2.0e1,blue", "cat,007,2,green", "x,1"]
    later += ["cat,1,2,8", "cat,2,1.5, 09"]
    tallies = Tallies()
    parser = BatchParser(sample.schema(HEADER, "y"), tallies=tallies)
    parser.parse("a.csv", "csv", HEADER, records(later))
    full = Tallies()
    full.add_csv(HEADER, later)
    assert tallies.columns == full.columns
    assert tallies.columns["n"].padded == 1 and tallies.columns["x"].floats == 2
    assert tallies.columns["s"].example_padded == " 09"
    assert [c.type for c in tallies.schema(HEADER, "y").columns] == [
        "string",
        "string",
        "float",
        "string",
    ]


def test_assign_split_is_a_stable_hash_of_the_key():
    keys = [f"row-{i}" for i in range(2000)]
    assign = splits_lib.SplitAssigner({"train": 0.8, "eval": 0.2})
    names = assign.assign_all(keys)
    assert names == [assign(k) for k in keys]
    share = names.count("train") / len(keys)
    assert 0.77 < share < 0.83
    # Pinned values: a change of hash function would silently move rows between splits.
    # SHA-256("") starts e3b0c44298fc1c14 (a published test vector).
    assert splits_lib.unit_hash("") == int("e3b0c44298fc1c14", 16) / 2**64
    three = splits_lib.SplitAssigner({"a": 0.5, "b": 0.3, "c": 0.2})
    assert set(three.assign_all(keys)) == {"a", "b", "c"}


def tf_example(schema, row):
    example = example_pb2.Example()
    for column, value in zip(schema.columns, row):
        if value is None:
            continue
        feature = example.features.feature[column.name]
        if column.type == "int":
            feature.int64_list.value.append(value)
        elif column.type == "float":
            feature.float_list.value.append(value)
        else:
            feature.bytes_list.value.append(value.encode("utf-8"))
    return example.SerializeToString(deterministic=True)


def test_example_encoder_writes_what_tensorflow_serializes(tmp_path):
    rng = random.Random(0)
    schema = Schema(
        columns=(
            Column("b", "int"),
            Column("a", "float"),
            Column("é", "string"),
            Column("Z", "string"),
            Column("k" * 200, "int"),
        )
    )
    choices = {
        "int": [0, 1, -1, 127, 128, 16383, 16384, 2**63 - 1, -(2**63), 10**12],
        "float": [0.0, -0.0, 1.5, 1e39, -1e39, 3.4028235e38, 3.40282357e38, 1e-50, 0.1],
        "string": ["", "abc", "ü" * 70, "x" * 300, "cät"],
    }
    rows = [
        [None if rng.random() < 0.2 else rng.choice(choices[c.type]) for c in schema.columns]
        for _ in range(3000)
    ] + [[None] * 5]
    examples = ExampleEncoder(schema).encode([list(c) for c in zip(*rows)])
    assert examples == [tf_example(schema, row) for row in rows]

    path = str(tmp_path / "data.tfrecord.gz")
    out = TFRecordFile(path)
    out.write(examples[:1000])
    out.write(examples[1000:])
    out.close()
    plain = str(tmp_path / "tf.tfrecord")
    with tf.io.TFRecordWriter(plain) as writer:
        for example in examples:
            writer.write(example)
    with gzip.open(path) as ours, open(plain, "rb") as theirs:
        assert ours.read() == theirs.read()  # same framing and checksums as TensorFlow's writer


def test_stats_of_batches_merge_into_counts_moments_and_vocabulary():
    schema = Schema(columns=(Column("y", "string"), Column("n", "int")), label="y")
    first, second = stats_lib.StatsAccumulator(), stats_lib.StatsAccumulator()
    first.add_batch(schema.columns, [["a", "b"], [1, 3]], ["train", "train"])
    second.add_batch(schema.columns, [["a"], [None]], ["eval"])
    stats = stats_lib.finish(
        stats_lib.StatsAccumulator().merge(first).merge(second).compact(),
        schema.to_dict(),
        2,
        ["train", "eval", "test"],
    )
    histogram = stats["columns"]["n"].pop("histogram")  # 10 equal-width buckets, min to max
    assert [b["count"] for b in histogram] == [1] + [0] * 8 + [1]
    assert [b["low"] for b in histogram] == pytest.approx(
        [1 + 0.2 * i for i in range(10)], abs=1e-12
    )
    assert [b["high"] for b in histogram] == pytest.approx(
        [1.2 + 0.2 * i for i in range(10)], abs=1e-12
    )
    assert stats == {
        "version": 1,
        "label": "y",
        "num_rows": {"input": 5, "train": 2, "eval": 1, "test": 0, "dead_letter": 2},
        "dead_letter_reasons": {},
        "mixed_columns": {},
        "columns": {
            "y": {
                "type": "string",
                "count": 3,
                "missing": 0,
                "unique": 2,
                "vocabulary": {"a": 2, "b": 1},
                "vocabulary_truncated": False,
                "avg_length": 1.0,
            },
            "n": {"type": "int", "count": 2, "missing": 1, "min": 1, "max": 3, "mean": 2.0, "std": 1.0,
                  "zeros": 0},
        },
    }  # fmt: skip


def test_prepare_examples_accounts_for_every_row_in_files_per_chunk(
    tmp_path,
):
    src = tmp_path / "a.csv"
    src.write_text(",".join(HEADER) + "\n" + "\n".join(CSV_TEXTS * 50) + "\n")
    sample = Tallies()
    sample.add_csv(HEADER, CSV_TEXTS)
    out = str(tmp_path / "out")
    with make_pipeline() as p:
        prepared = (
            p
            | beam.Create([(0, InputFile(str(src), "csv", HEADER))])
            | PrepareExamples(
                output_dir=out,
                splits={"train": 0.5, "eval": 0.5},
                schema=sample.schema(HEADER, "y"),
                verify=True,
                inferred=True,
                column_order=HEADER,
                chunk_bytes=1000,
            )
        )
        assert_that(
            prepared["stats"] | beam.Map(lambda s: (s["num_rows"]["input"], s["num_rows"]["dead_letter"])),
            equal_to([(200, 50)]),
            label="Counts",
        )  # fmt: skip
        assert_that(prepared["schema"], equal_to([SCHEMA.to_dict()]), label="Schema")
    files = {
        split: sorted(glob.glob(f"{out}/Split-{split}/*.tfrecord.gz"))
        for split in ("train", "eval")
    }
    assert len(files["train"]) == len(files["eval"]) > 1  # several chunks, each writing both
    written = [
        r.numpy() for paths in files.values() for r in tf.data.TFRecordDataset(paths, "GZIP")
    ]
    assert len(written) == 150
    dead = []
    for path in sorted(glob.glob(f"{out}/dead_letter/*.jsonl")):
        with open(path) as f:
            dead += [json.loads(line) for line in f]
    assert [d["line"] for d in dead] == list(range(5, 202, 4))  # 'bad,row': every 4th line
    labels = [
        example_pb2.Example.FromString(r).features.feature["y"].bytes_list.value[0] for r in written
    ]
    assert sorted(set(labels)) == [b"cat", b"dog"]


QUOTED_CSV = (
    b"\xef\xbb\xbfid,text,y\r\n"
    b"1,plain,a\r\n"
    b"\r\n"
    b'2,"two\r\nlines, and ""quotes""",b\r\n'
    b"   \n"
    b'3,"three\n\nlines",a\n'
    b"4,last,b"  # no final newline
)
QUOTED_RECORDS = [
    (2, "1,plain,a"),
    (4, '2,"two\nlines, and ""quotes""",b'),
    (7, '3,"three\n\nlines",a'),
    (10, "4,last,b"),
]


def chunk_records(path, fmt, chunk_bytes, block_bytes):
    header = ("id", "text", "y")
    chunks = reading.plan_chunks(path, fmt, header, 0, chunk_bytes=chunk_bytes)
    got = [
        (line, text)
        for chunk in chunks
        for block in reading.iter_chunk_records(chunk, block_bytes=block_bytes)
        for line, text in zip(block.lines, block.texts)
    ]
    return chunks, got


@pytest.mark.parametrize("chunk_bytes", [1, 7, 20, 45, 1000])
@pytest.mark.parametrize("block_bytes", [1, 5, 64, 1 << 18])
def test_chunks_hold_every_record_once_with_its_line_number(tmp_path, chunk_bytes, block_bytes):
    path = tmp_path / "q.csv"
    path.write_bytes(QUOTED_CSV)
    chunks, got = chunk_records(str(path), "csv", chunk_bytes, block_bytes)
    assert got == QUOTED_RECORDS
    if chunk_bytes < 20:
        assert len(chunks) > 2  # cuts fall between records, never inside a quoted field
    assert [c.index for c in chunks] == list(range(len(chunks)))


def test_chunks_of_json_lines_and_of_compressed_files(tmp_path):
    lines = [json.dumps({"i": i, "s": "x" * (i % 7)}) for i in range(500)]
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(lines[:250]) + "\n\n" + "\n".join(lines[250:]) + "\n")
    chunks, got = chunk_records(str(path), "jsonl", 1000, 100)
    assert len(chunks) > 10
    assert got == list(zip(range(1, 251), lines[:250])) + list(zip(range(252, 502), lines[250:]))
    packed = tmp_path / "q.csv.gz"
    packed.write_bytes(gzip.compress(QUOTED_CSV))
    chunks, got = chunk_records(str(packed), "csv", 1, 1 << 18)
    assert len(chunks) == 1 and got == QUOTED_RECORDS


def _histogram(parts):
    acc = stats_lib._Numbers()
    for values in parts:
        part = stats_lib._Numbers()
        part.buffer += values
        acc.merge_from(part)
    return acc.histogram()


@pytest.mark.parametrize("distinct", ["few", "many"])
def test_histograms_count_like_numpy_and_merge_in_any_order(distinct):
    rng = np.random.default_rng(3)
    if distinct == "few":  # exact value counts: identical to numpy, edges included
        values = rng.integers(2007, 2010, 5000).astype(float).tolist() + [2007.2, 2008.0]
    else:  # more than EXACT_VALUES distinct: fine buckets
        values = (rng.lognormal(3, 1, 3 * stats_lib.EXACT_VALUES) - 20).tolist()
    parts = [values[i::3] for i in range(3)]
    buckets = _histogram(parts)
    assert buckets == _histogram(parts[::-1])
    edges = np.array([b["low"] for b in buckets] + [buckets[-1]["high"]])
    expected, _ = np.histogram(np.array(values), bins=edges)
    got = [b["count"] for b in buckets]
    assert sum(got) == len(values) and len(got) == stats_lib.HISTOGRAM_BUCKETS
    array = np.array(values)
    near = sum(int(np.sum(np.abs(array - e) <= 3e-4 * abs(e))) for e in edges)
    off = sum(abs(int(a) - b) for a, b in zip(expected, got))
    assert off == 0 if distinct == "few" else off <= 2 * near < len(values) / 100
