"""Each prepare transform on its own: TestPipeline + beam.Create + assert_that."""

import json

import apache_beam as beam
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline
from apache_beam.testing.util import assert_that, equal_to
from tensorflow.core.example import example_pb2

from components.prepare import splits as splits_lib
from components.prepare import stats as stats_lib
from components.prepare.transforms import (
    AssignSplit,
    EncodeExample,
    InferSchemaFn,
    ParseRecords,
    PrepareExamples,
)
from components.schema import Column, Schema

HEADER = ("y", "n", "x", "s")
CSV_BATCH = (
    "a.csv",
    "csv",
    HEADER,
    [(2, "cat,1,1.5,red"), (3, "dog,2,NA,"), (4, "cat,3,2,blue"), (5, "bad,row")],
)
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


def test_infer_schema_widens_int_float_string_over_every_row():
    with make_pipeline() as p:
        schema = (
            p
            | beam.Create([CSV_BATCH, ("b.csv", "csv", HEADER, [(2, "cat,4,x7,green")])])
            | beam.CombineGlobally(InferSchemaFn(HEADER, "y"))
        )
        expected = Schema(
            columns=(
                Column("y", "string"),
                Column("n", "int"),
                Column("x", "string"),  # 'x7' in the second file widens float to string
                Column("s", "string"),
            ),
            label="y",
        ).to_dict()
        assert_that(schema, equal_to([expected]))


def test_infer_schema_from_json_lines_unions_keys_after_the_first_rows_order():
    batch = ("a.jsonl", "jsonl", ("b", "a"), [(1, '{"b": 1, "a": 2.5}'), (2, '{"a": 3, "c": "7"}')])
    with make_pipeline() as p:
        schema = p | beam.Create([batch]) | beam.CombineGlobally(InferSchemaFn(("b", "a"), None))
        expected = Schema(
            columns=(Column("b", "int"), Column("a", "float"), Column("c", "string"))
        ).to_dict()
        assert_that(schema, equal_to([expected]))


def test_parse_records_types_values_and_sends_bad_rows_to_dead_letter():
    batch = ("a.csv", "csv", HEADER, [*CSV_BATCH[3], (6, ",4,1,red"), (7, "cat,1.5,1,red")])
    with make_pipeline() as p:
        schema = p | "Schema" >> beam.Create([SCHEMA.to_dict()])
        parsed = (
            p
            | beam.Create([batch])
            | beam.ParDo(ParseRecords(), beam.pvalue.AsSingleton(schema)).with_outputs(
                "dead_letter", main="rows"
            )
        )
        assert_that(
            parsed.rows | beam.Values(),
            equal_to(
                [
                    {"y": "cat", "n": 1, "x": 1.5, "s": "red"},
                    {"y": "dog", "n": 2},  # NA and "" are missing, not errors
                    {"y": "cat", "n": 3, "x": 2.0, "s": "blue"},
                ]
            ),
            label="Rows",
        )
        reasons = parsed.dead_letter | beam.Map(lambda d: (d["line"], d["reason"]))
        assert_that(
            reasons,
            equal_to(
                [
                    (5, "expected 4 fields, got 2"),
                    (6, "missing label 'y'"),
                    (7, "column 'n' (int): invalid literal for int() with base 10: '1.5'"),
                ]
            ),
            label="DeadLetter",
        )


def test_parse_records_keys_by_split_key_column_or_whole_row():
    with make_pipeline() as p:
        schema = p | "Schema" >> beam.Create([SCHEMA.to_dict()])
        batches = p | beam.Create([("a.csv", "csv", HEADER, CSV_BATCH[3][:2])])
        by_row = batches | "ByRow" >> beam.ParDo(ParseRecords(), beam.pvalue.AsSingleton(schema))
        by_key = batches | "ByKey" >> beam.ParDo(
            ParseRecords(split_key="s"), beam.pvalue.AsSingleton(schema)
        )
        assert_that(by_row | "K1" >> beam.Keys(), equal_to(["cat,1,1.5,red", "dog,2,NA,"]), "Row")
        assert_that(by_key | "K2" >> beam.Keys(), equal_to(["red", ""]), label="Key")


def test_assign_split_is_a_stable_hash_of_the_key():
    keys = [f"row-{i}" for i in range(2000)]
    assign = splits_lib.SplitAssigner({"train": 0.8, "eval": 0.2})
    expected = [(assign(k), k) for k in keys]
    with make_pipeline() as p:
        out = p | beam.Create([(k, k) for k in keys]) | AssignSplit({"train": 0.8, "eval": 0.2})
        assert_that(out, equal_to(expected))
    share = sum(name == "train" for name, _ in expected) / len(keys)
    assert 0.77 < share < 0.83
    # Pinned values: a change of hash function would silently move rows between splits.
    # SHA-256("") starts e3b0c44298fc1c14 (a published test vector).
    assert splits_lib.unit_hash("") == int("e3b0c44298fc1c14", 16) / 2**64


def test_encode_example_writes_one_typed_feature_per_present_value():
    def decode(serialized):
        return json.dumps(
            {
                k: [f.WhichOneof("kind"), list(getattr(f, f.WhichOneof("kind")).value)]
                for k, f in example_pb2.Example.FromString(serialized).features.feature.items()
            },
            sort_keys=True,
            default=lambda b: b.decode(),
        )

    with make_pipeline() as p:
        out = p | beam.Create([{"y": "cät", "n": 2, "x": 0.5}]) | beam.ParDo(EncodeExample())
        expected = {
            "n": ["int64_list", [2]],
            "x": ["float_list", [0.5]],
            "y": ["bytes_list", ["cät"]],
        }
        assert_that(out | beam.Map(decode), equal_to([json.dumps(expected, sort_keys=True)]))


def test_compute_stats_counts_moments_and_vocabulary():
    rows = [("train", {"y": "a", "n": 1}), ("train", {"y": "b", "n": 3}), ("eval", {"y": "a"})]
    schema = Schema(columns=(Column("y", "string"), Column("n", "int")), label="y").to_dict()
    with make_pipeline() as p:
        stats = (
            p
            | beam.Create(rows)
            | beam.CombineGlobally(stats_lib.ComputeStatsFn())
            | beam.Map(lambda acc: stats_lib.finish(acc, schema, 2, ["train", "eval", "test"]))
        )
        expected = {
            "version": 1,
            "label": "y",
            "num_rows": {"input": 5, "train": 2, "eval": 1, "test": 0, "dead_letter": 2},
            "columns": {
                "y": {
                    "type": "string",
                    "count": 3,
                    "missing": 0,
                    "unique": 2,
                    "vocabulary": {"a": 2, "b": 1},
                    "vocabulary_truncated": False,
                },
                "n": {
                    "type": "int",
                    "count": 2,
                    "missing": 1,
                    "min": 1,
                    "max": 3,
                    "mean": 2.0,
                    "std": 1.0,
                },
            },
        }
        assert_that(stats, equal_to([expected]))


def test_prepare_examples_accounts_for_every_row():
    with make_pipeline() as p:
        out = (
            p
            | beam.Create([CSV_BATCH])
            | PrepareExamples(splits={"train": 0.5, "eval": 0.5}, label="y", column_order=HEADER)
        )
        counts = (
            (out["examples/train"], out["examples/eval"], out["dead_letter"])
            | beam.Flatten()
            | beam.combiners.Count.Globally()
        )
        assert_that(counts, equal_to([4]), label="Total")
        assert_that(
            out["stats"] | beam.Map(lambda s: s["num_rows"]["input"]), equal_to([4]), label="Input"
        )
