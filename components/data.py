"""Reading prepared examples for training: gzip TFRecords of tf.Example parsed by the schema.

Feature conventions (the default model, evaluator and serving signature rely on them):
    * int and float columns -> float32 [batch], NaN where the value is missing;
    * string columns -> tf.string [batch], "" where missing;
    * the label, raw: tf.string, int64 or float32 [batch] by its column type.
"""

from __future__ import annotations

import dataclasses
import gzip
import zlib
from collections.abc import Callable

import tensorflow as tf

from components import artifacts
from components.schema import Schema

_NUMERIC_DTYPES = {"int": tf.int64, "float": tf.float32}
_LABEL_DTYPES = {"int": tf.int64, "float": tf.float32, "string": tf.string}


def _as_schema(schema: Schema | str) -> Schema:
    return Schema.load(schema) if isinstance(schema, str) else schema


def feature_spec(schema: Schema | str, include_label: bool = True) -> dict:
    """The tf.io.parse_example spec: VarLenFeature for features (absent and empty both read as
    missing: prepare leaves a missing value out, a TFX ExampleGen writes an empty list) and
    FixedLenFeature for the label (required, no default)."""
    schema = _as_schema(schema)
    spec = {}
    for column in schema.columns:
        if column.name == schema.label:
            if include_label:
                spec[column.name] = tf.io.FixedLenFeature([], _LABEL_DTYPES[column.type])
        elif column.type == "string":
            spec[column.name] = tf.io.VarLenFeature(tf.string)
        else:
            spec[column.name] = tf.io.VarLenFeature(_NUMERIC_DTYPES[column.type])
    return spec


def parse_examples(
    serialized: tf.Tensor, schema: Schema | str, include_label: bool = True
) -> dict[str, tf.Tensor]:
    """Parses a [batch] string tensor of tf.Examples into {column: [batch] tensor}.

    Numbers become float32 with NaN for missing; strings "" for missing; the label (present
    only with `include_label`) keeps its own dtype.
    """
    schema = _as_schema(schema)
    parsed = tf.io.parse_example(serialized, feature_spec(schema, include_label))
    batch = tf.shape(serialized, out_type=tf.int64)[:1]
    features = {}
    for name, value in parsed.items():
        if isinstance(value, tf.SparseTensor):
            # One value per example at most; scatter by row so an all-missing batch still
            # gives [batch] (to_dense would give [batch, 0]).
            if value.dtype == tf.string:
                missing, values = tf.constant(""), value.values
            else:
                missing = tf.constant(float("nan"), tf.float32)
                values = tf.cast(value.values, tf.float32)
            value = tf.tensor_scatter_nd_update(
                tf.fill(batch, missing), value.indices[:, :1], values
            )
        features[name] = value
    return features


def split_files(examples_dir: str, split: str) -> list[str]:
    """Sorted gzip TFRecord files of one split: prepare's *.tfrecord.gz or a TFX ExampleGen's
    data_tfrecord-*.gz.

    Raises:
        FileNotFoundError: naming the split directory when it has no files.
    """
    pattern = f"{artifacts.split_dir(examples_dir, split)}/{artifacts.TFRECORD_GLOB}"
    files = sorted(tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no gzip TFRecord files match {pattern}")
    return files


def make_input_fn(
    examples_dir: str,
    split: str,
    schema: Schema | str,
    label: str | None = None,
    *,
    shuffle: bool | None = None,
    repeat: bool | None = None,
    num_epochs: int | None = None,
    shuffle_buffer: int = 10_000,
    seed: int | None = None,
    num_parallel_reads: int = tf.data.AUTOTUNE,
) -> Callable[[dict], tf.data.Dataset]:
    """An `input_fn(params)` for TPUEstimator reading one split of a prepared examples dir.

    Batches by `params['batch_size']` first, then parses the whole batch at once. Training
    (shuffle and repeat, both default to split == "train") drops the final partial batch so
    shapes stay static; evaluation keeps it. With `params['context']` (a
    tf.distribute.InputContext) each input pipeline reads its own shard of the files.

    Args:
        examples_dir: the prepare output (holds Split-<split>/).
        split: e.g. "train" or "eval".
        schema: a Schema or the path of schema.json.
        label: the label column; the dataset yields (features, label) when set, else
            features (never including the schema's label column).
        shuffle, repeat: defaults True for the train split, False otherwise.
        num_epochs: with repeat, how many passes (None = forever).
        shuffle_buffer, seed: shuffle buffer size and seed.
        num_parallel_reads: files read at once.

    Example:
        input_fn = make_input_fn("out/examples", "train", "out/examples/schema.json", "species")
        estimator.train(input_fn, max_steps=1000)
    """
    schema = _as_schema(schema)
    if label is not None:
        schema.column(label)  # KeyError names the columns
        schema = dataclasses.replace(schema, label=label)
    training = split == artifacts.TRAIN_SPLIT
    shuffle = training if shuffle is None else shuffle
    repeat = training if repeat is None else repeat
    files = split_files(examples_dir, split)

    def input_fn(params: dict) -> tf.data.Dataset:
        batch_size = params["batch_size"]
        file_names = tf.data.Dataset.from_tensor_slices(files)
        context = params.get("context")
        if context is not None and context.num_input_pipelines > 1:
            file_names = file_names.shard(context.num_input_pipelines, context.input_pipeline_id)
        ds = tf.data.TFRecordDataset(
            file_names, compression_type="GZIP", num_parallel_reads=num_parallel_reads
        )
        if shuffle:
            ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
        if repeat:
            ds = ds.repeat(num_epochs)
        ds = ds.batch(batch_size, drop_remainder=repeat)

        def parse(serialized):
            features = parse_examples(serialized, schema, include_label=label is not None)
            return (features, features.pop(label)) if label is not None else features

        ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
        return ds.prefetch(tf.data.AUTOTUNE)

    return input_fn


def check_tfrecords(examples_dir: str, split: str) -> int:
    """Reads every record of every file of a split; returns the record count.

    tf.data reports a truncated gzip file as a bare DataLossError without the file name, and
    reads a file cut at a record boundary as complete (it does not check the gzip trailer);
    this checks the gzip stream end to end, then every record's framing, and names the file.

    Raises:
        ValueError: naming the corrupt file.
    """
    count = 0
    for path in split_files(examples_dir, split):
        try:
            with tf.io.gfile.GFile(path, "rb") as raw, gzip.GzipFile(fileobj=raw) as stream:
                while stream.read(1 << 20):
                    pass
        except (EOFError, OSError, zlib.error) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip TFRecord file: {e}") from e
        try:
            for _ in tf.data.TFRecordDataset(path, compression_type="GZIP"):
                count += 1
        except (tf.errors.DataLossError, tf.errors.OutOfRangeError) as e:
            raise ValueError(f"{path}: corrupt or truncated gzip TFRecord file: {e.message}") from e
    return count
