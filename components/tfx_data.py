"""TFX examples as our steps read them: schema.json and stats.json for an ExampleGen output.

A TFX ExampleGen writes `Split-<name>/*.gz` (gzip tf.Example TFRecords, as prepare does) and
SchemaGen writes `schema.pbtxt` (a tensorflow-metadata Schema), but neither writes the
`schema.json` / `stats.json` our trainer copies into a model dir. `write_data_files` makes them:
the schema from `schema.pbtxt` (or prepare's own `schema.json`) plus the label, and the
statistics from one pass over the train split (TFX hands run_fn no statistics).

Example:
    from components import tfx_data, trainer
    tfx_data.write_data_files("tfx/CsvExampleGen/examples/1", "out/data",
                              schema_pbtxt="tfx/SchemaGen/schema/3/schema.pbtxt",
                              label="species")
    trainer.run("tfx/CsvExampleGen/examples/1", "out/model", train_steps=300,
                data_dir="out/data")
"""

from __future__ import annotations

import json
import logging

import tensorflow as tf

from components import artifacts, files
from components.schema import Column, Schema

log = logging.getLogger("tpuest.tfx")
# tensorflow_metadata FeatureType values -> our column types.
_PBTXT_TYPES = {"INT": "int", "FLOAT": "float", "BYTES": "string"}


def schema_from_pbtxt(path: str, label: str | None) -> Schema:
    """Our Schema from a TFX `schema.pbtxt` (features in file order) and the label's name.

    Raises:
        ValueError: a feature whose type is not INT, FLOAT or BYTES, a feature that is not
            one value per example, or a label the schema does not have.
    """
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"schema file not found: {path}")
    with tf.io.gfile.GFile(path) as f:
        proto = text_format.Parse(f.read(), schema_pb2.Schema())
    columns = []
    for feature in proto.feature:
        kind = schema_pb2.FeatureType.Name(feature.type)
        if kind not in _PBTXT_TYPES:
            raise ValueError(
                f"{path}: feature {feature.name!r} has type {kind}; need INT, FLOAT or BYTES"
            )
        shape = feature.shape.dim if feature.HasField("shape") else ()
        if len(shape) > 1 or (shape and shape[0].size != 1):
            raise ValueError(f"{path}: feature {feature.name!r} is not one value per example")
        if feature.value_count.max > 1:
            raise ValueError(
                f"{path}: feature {feature.name!r} has up to {feature.value_count.max} values per "
                "example; our steps read one value per feature"
            )
        columns.append(Column(feature.name, _PBTXT_TYPES[kind]))
    names = [c.name for c in columns]
    if label is not None and label not in names:
        raise ValueError(f"{path}: label {label!r} is not a feature (features: {names})")
    return Schema(columns=tuple(columns), label=label)


def _column_values(example: tf.train.Example, schema: Schema) -> list:
    """One row: each schema column's value (None when absent or empty)."""
    row = []
    for column in schema.columns:
        feature = example.features.feature.get(column.name)
        if feature is None:
            row.append(None)
            continue
        kind = feature.WhichOneof("kind")
        values = getattr(feature, kind).value if kind else ()
        if not values:
            row.append(None)
        elif column.type == "string":
            row.append(values[0].decode("utf-8", "replace"))
        else:
            row.append(values[0])
    return row


def compute_stats(examples_dir: str, schema: Schema, split: str = artifacts.TRAIN_SPLIT) -> dict:
    """The stats.json document of one split, read example by example (as prepare's stats).

    Raises:
        ValueError: the split has no examples.
    """
    from components.data import split_files
    from components.statistics import StatsAccumulator, finish

    accumulator, batch = StatsAccumulator(), []

    def flush():
        if batch:
            columns = [list(values) for values in zip(*batch)]
            accumulator.add_batch(schema.columns, columns, [split] * len(batch))
            batch.clear()

    files = split_files(examples_dir, split)
    for record in tf.data.TFRecordDataset(files, compression_type="GZIP"):
        batch.append(_column_values(tf.train.Example.FromString(record.numpy()), schema))
        if len(batch) >= 4096:
            flush()
    flush()
    if not accumulator.rows:
        raise ValueError(f"{artifacts.split_dir(examples_dir, split)}: no examples")
    stats = finish(accumulator.compact(), schema.to_dict(), 0, [split])
    stats["computed_from"] = {"examples_dir": examples_dir, "split": split}
    return stats


def write_data_files(
    examples_dir: str,
    output_dir: str,
    *,
    schema_pbtxt: str | None = None,
    label: str | None = None,
) -> str:
    """Writes schema.json and stats.json for `examples_dir` into `output_dir`; returns it.

    The schema comes from `schema_pbtxt` when given, else from examples_dir's schema.json (a
    prepare output); `label` overrides the label either names. A prepare output's stats.json
    is copied; otherwise the statistics are computed from the train split.

    Raises:
        ValueError: no label anywhere, or a schema file that cannot be used.
        FileNotFoundError: neither schema_pbtxt nor examples_dir/schema.json.
    """
    ours = f"{examples_dir}/{artifacts.SCHEMA_FILE}"
    if schema_pbtxt:
        schema = schema_from_pbtxt(schema_pbtxt, label)
    elif tf.io.gfile.exists(ours):
        schema = Schema.load(ours)
        if label is not None:
            schema.column(label)  # KeyError names the columns
            schema = Schema(columns=schema.columns, label=label)
    else:
        raise FileNotFoundError(
            f"{examples_dir} has no {artifacts.SCHEMA_FILE}: give a TFX {artifacts.SCHEMA_PBTXT_FILE} "
            "(SchemaGen's output) for these examples"
        )
    if schema.label is None:
        raise ValueError(
            f"no label column for {examples_dir}: set custom_config['label'] (one of {schema.names})"
        )
    stats_source = f"{examples_dir}/{artifacts.STATS_FILE}"
    if not schema_pbtxt and tf.io.gfile.exists(stats_source):
        with tf.io.gfile.GFile(stats_source) as f:
            stats = json.loads(f.read())
    else:
        log.info("computing statistics of %s (train split)", examples_dir)
        stats = compute_stats(examples_dir, schema)
    stats["label"] = schema.label
    tf.io.gfile.makedirs(output_dir)
    files.write_json_atomic(f"{output_dir}/{artifacts.SCHEMA_FILE}", schema.to_dict())
    files.write_json_atomic(f"{output_dir}/{artifacts.STATS_FILE}", stats)
    return output_dir
