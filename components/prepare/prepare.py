"""The prepare step's work: raw table files to split tf.Example TFRecords, schema, stats, dead letters."""

from __future__ import annotations

# First: Beam's import-time chatter is hidden only if this imports it before anything else.
from components.prepare import beam_import  # noqa: F401

# isort: split
import dataclasses
import functools
import json
import logging
import re
import time
from collections.abc import Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from components import artifacts
from components.prepare import inputs as inputs_lib
from components.prepare.args import PrepareArgs
from components.prepare.infer import Tallies
from components.prepare.inputs import MalformedInputError
from components.prepare.rows import NUMERIC_PERCENT
from components.prepare.runner import make_pipeline, pipeline_options
from components.prepare.staging import check_output, commit, staging_dir
from components.prepare.tfx_metadata import feature_statistics, schema_text
from components.prepare.transforms import PrepareExamples
from components.schema import Schema

log = logging.getLogger("tpuest.prepare")


class BadDataError(ValueError):
    """More rows were rejected than `max_bad_fraction` allows."""


@dataclasses.dataclass(frozen=True)
class PrepareResult:
    """What `run` wrote: rows per split, rejected rows, and where everything is."""

    output_dir: str
    counts: dict[str, int]
    dead_letter: int
    input_rows: int
    schema_path: str
    stats_path: str
    dead_letter_dir: str
    split_dirs: dict[str, str]
    dead_letter_reasons: dict[str, int] = dataclasses.field(default_factory=dict)
    mixed_columns: dict[str, dict] = dataclasses.field(default_factory=dict)
    input_files: int = 0
    seconds: float = 0.0

    @property
    def bad_fraction(self) -> float:
        return self.dead_letter / self.input_rows if self.input_rows else 0.0

    def summary(self) -> str:
        """What a person reads at the end of a run: rows, examples, why rows were rejected,
        mixed columns and where the outputs are."""
        counts = ", ".join(f"{name}={n}" for name, n in self.counts.items())
        lines = [
            f"Examples at {self.output_dir}: {counts} ({self.input_rows} rows read from "
            f"{self.input_files} file(s) in {self.seconds:.1f}s)",
            f"  dead letters: {self.dead_letter}"
            + (f" in {self.dead_letter_dir}/" if self.dead_letter else ""),
        ]
        width = len(str(max(self.dead_letter_reasons.values(), default=0)))
        lines += [f"    {n:>{width}}  {kind}" for kind, n in self.dead_letter_reasons.items()]
        if self.mixed_columns:
            lines.append("  mixed columns:")
            lines += [f"    {mixed_message(name, m)}" for name, m in self.mixed_columns.items()]
        out = self.output_dir
        lines.append(f"  schema: {self.schema_path} (TFX: {out}/{artifacts.SCHEMA_PBTXT_FILE})")
        lines.append(
            f"  statistics: {self.stats_path} (TFX: {artifacts.feature_stats_path(out, '<split>')})"
        )
        return "\n".join(lines)


def mixed_message(name: str, mixed: dict) -> str:
    """One line on a column holding numbers and other values (infer.Tallies.mixed())."""
    values, numbers = mixed["values"], mixed["numbers"]
    share = f"{numbers} of {values} values are numbers ({100 * numbers / values:.1f}%"
    if mixed["leading_zero"]:
        return (
            f"{name!r} kept as string: {mixed['leading_zero']} number(s) written with a "
            f"leading zero (e.g. {mixed['example_leading_zero']!r}) make it a column of codes"
        )
    if mixed["type"] == "string":
        return (
            f"{name!r} kept as string: {share}, below the {NUMERIC_PERCENT}% rule; e.g. "
            f"{mixed['example_not_a_number']!r} is not)"
        )
    return (
        f"{name!r} inferred {mixed['type']}: {share}); the {values - numbers} other row(s) are "
        f"dead letters (e.g. {mixed['example_not_a_number']!r})"
    )


def run(
    inputs: Sequence[str],
    output_dir: str,
    args: PrepareArgs | None = None,
    **fields: Any,
) -> PrepareResult:
    """Turns raw table files into `output_dir` with the TFX-compatible examples layout.

    Writes OUT/Split-<name>/*.tfrecord.gz, OUT/schema.json, OUT/stats.json and
    OUT/dead_letter/*.jsonl, and TFX's OUT/schema.pbtxt and
    OUT/statistics/Split-<name>/FeatureStats.pb, into a sibling OUT.tmp-* directory, then
    renames it to OUT.

    Args:
        inputs: paths or glob patterns (any Beam filesystem) of CSV (with header) or JSON
            Lines files; the format comes from the extension unless `input_format` is given.
        output_dir: where the examples go; must be absent or empty unless `overwrite`, and
            never an input, a directory holding one, the working or the home directory.
        args: the parameters (components.prepare.args.PrepareArgs), or give its fields as
            keywords, e.g. `run(["data.csv"], "out/examples", label="species")`. Without a
            `schema`, int/float/string are inferred from every row: a column is numeric when
            >= rows.NUMERIC_PERCENT% of its non-empty values are numbers (the rest become
            dead letters), unless a number has a leading zero (codes such as "007" stay
            strings); see components.prepare.infer. `direct_num_workers` > 1 runs
            multi_processing, or multi_threading (faster there) for inputs under
            runner.MULTI_PROCESSING_MIN_BYTES, unless `direct_running_mode` is given.

    Returns:
        A PrepareResult with the counts and output paths.

    Raises:
        FileNotFoundError: a pattern matches nothing.
        MalformedInputError: a file is empty, header-only, not UTF-8 or has a huge line, or
            the files' columns differ.
        BadDataError: the rejected fraction is above `max_bad_fraction`; the message names
            the dead-letter directory (left in OUT.tmp-*; OUT is not created).
        FileExistsError: `output_dir` is not empty and `overwrite` is False.
        ValueError: `output_dir` is an input or a directory above one, or the working or
            home directory or a directory above them (see staging.check_output).
    """
    args = dataclasses.replace(args, **fields) if args is not None else PrepareArgs(**fields)
    paths = inputs_lib.match_inputs(inputs)
    check_output(output_dir, paths)
    options = pipeline_options(
        list(args.beam_options),
        direct_num_workers=args.direct_num_workers,
        direct_running_mode=args.direct_running_mode,
        input_bytes=inputs_lib.total_bytes(paths),
    )
    files, schema, inferred = _plan(paths, args)
    started = time.monotonic()
    tmp = staging_dir(output_dir, overwrite=args.overwrite)
    log.info("prepare: %d file(s) -> %s (staging in %s)", len(files), output_dir, tmp)
    try:
        stats = _write_examples(files, tmp, options, schema, args, inferred=inferred)
    except BaseException:
        FileSystems.delete([tmp])
        raise
    result = _result(output_dir, stats, args.split_fractions, len(files))
    for name, mixed in result.mixed_columns.items():
        log.warning("prepare: column %s", mixed_message(name, mixed))
    if result.bad_fraction > args.max_bad_fraction:
        raise BadDataError(
            f"{result.dead_letter} of {result.input_rows} rows rejected (fraction "
            f"{result.bad_fraction:.4f} > max_bad_fraction {args.max_bad_fraction}); see the "
            f"reasons in {tmp}/{artifacts.DEAD_LETTER_DIR} (nothing was written to {output_dir})"
        )
    commit(tmp, output_dir)
    result = dataclasses.replace(result, seconds=time.monotonic() - started)
    log.info(
        "prepare: %d rows in %.1fs: %s, %d dead letter(s); examples at %s",
        result.input_rows,
        result.seconds,
        ", ".join(f"{k}={v}" for k, v in result.counts.items()),
        result.dead_letter,
        output_dir,
    )
    return result


def _plan(paths: list[str], args: PrepareArgs) -> tuple[list, Schema, bool]:
    """(input files, the schema to encode with, whether it is inferred) from the files' heads.

    An inferred schema is provisional: from the sampled head rows of every file.
    """
    heads = [
        inputs_lib.read_head(
            path, inputs_lib.detect_format(path, args.input_format), args.max_line_bytes
        )
        for path in paths
    ]
    files = [f for f, _ in heads]
    given = Schema.load(args.schema) if isinstance(args.schema, str) else args.schema
    given = _check_columns(files, given, args.label, args.split_key)
    if given is not None:
        return files, given, False
    provisional = _sample_tallies(heads).schema(files[0].header, args.label, provisional=True)
    return files, provisional, True


def _write_examples(files, tmp: str, options, schema: Schema, args: PrepareArgs, *, inferred):
    """Runs the Beam pipeline into `tmp` (twice in the rare case inference moves); its stats."""
    run_pipeline = functools.partial(
        _run_pipeline, files, tmp, options, args.split_fractions, split_key=args.split_key,
        order=files[0].header, max_line_bytes=args.max_line_bytes, inferred=inferred,
    )  # fmt: skip
    run_pipeline(schema)
    final = _read_json(f"{tmp}/{artifacts.SCHEMA_FILE}")
    if final != schema.to_dict():
        # The head of the files was not like the rest: encode everything again with the
        # schema over every row (a rare second pass; the result is as if inferred at once).
        log.info("prepare: types differ from the sample's (%s); preparing again", final)
        FileSystems.delete([tmp])
        FileSystems.mkdirs(tmp)
        run_pipeline(Schema.from_dict(final))
        settled = _read_json(f"{tmp}/{artifacts.SCHEMA_FILE}")
        if settled != final:  # the tallies do not depend on the schema: a bug
            raise RuntimeError(f"prepare: inference did not settle: {final} -> {settled}")
    stats = _read_json(f"{tmp}/{artifacts.STATS_FILE}")
    with FileSystems.create(f"{tmp}/{artifacts.SCHEMA_PBTXT_FILE}", mime_type="text/plain") as f:
        f.write(schema_text(final, stats).encode())
    return stats


def _result(output_dir: str, stats: dict, splits: dict, input_files: int) -> PrepareResult:
    num_rows = stats["num_rows"]
    return PrepareResult(
        output_dir=output_dir,
        counts={name: num_rows[name] for name in splits},
        dead_letter=num_rows["dead_letter"],
        input_rows=num_rows["input"],
        schema_path=f"{output_dir}/{artifacts.SCHEMA_FILE}",
        stats_path=f"{output_dir}/{artifacts.STATS_FILE}",
        dead_letter_dir=f"{output_dir}/{artifacts.DEAD_LETTER_DIR}",
        split_dirs={name: artifacts.split_dir(output_dir, name) for name in splits},
        dead_letter_reasons=stats["dead_letter_reasons"],
        mixed_columns=stats["mixed_columns"],
        input_files=input_files,
    )


def _check_columns(files, schema: Schema | None, label, split_key) -> Schema | None:
    """Up-front column checks that name the file; returns the schema with the label applied."""
    if schema is not None:
        if label is not None and schema.label not in (None, label):
            raise ValueError(f"label {label!r} differs from the schema's label {schema.label!r}")
        if label is not None:
            schema = dataclasses.replace(schema, label=label)
    csv_files = [f for f in files if f.format == "csv"]
    expected = set(schema.names) if schema is not None else None
    for f in csv_files:
        expected = expected if expected is not None else set(f.header)
        if set(f.header) != expected:
            raise MalformedInputError(
                f"{f.path}: header columns {sorted(f.header)} differ from "
                f"{'the schema' if schema is not None else csv_files[0].path} {sorted(expected)}"
            )
    for f in files if csv_files and schema is None else ():
        extra = sorted(set(f.header) - expected) if f.format != "csv" else []
        if extra:
            raise MalformedInputError(
                f"{f.path}: keys {extra} are not columns of {csv_files[0].path} "
                f"{sorted(expected)}: CSV and JSON Lines inputs need the same columns "
                "(or give a schema)"
            )
    known = expected if csv_files or schema is not None else None
    for name, what in ((label, "label"), (split_key, "split_key")):
        if name is not None and known is not None and name not in known:
            raise ValueError(f"{what} {name!r} is not a column (columns: {sorted(known)})")
    return schema


def _sample_tallies(heads) -> Tallies:
    """Column tallies over the sampled head rows of every file (each file's columns included)."""
    tallies = Tallies()
    for source, records in heads:
        texts = [text for _, text in records]
        if source.format == "csv":
            tallies.add_csv(source.header, texts)
        else:
            tallies.add_json_texts(source.header, texts)
    return tallies


def _run_pipeline(
    files, tmp, options, splits, schema, *, split_key, order, max_line_bytes, inferred
) -> None:
    # Chunks with dead letters write them here; the directory exists even when none do.
    FileSystems.mkdirs(f"{tmp}/{artifacts.DEAD_LETTER_DIR}")
    pipeline = make_pipeline(options)
    prepared = (
        pipeline
        | "ListInputs" >> beam.Create(list(enumerate(files)))
        | "Prepare"
        >> PrepareExamples(
            output_dir=tmp,
            splits=splits,
            schema=schema,
            verify=inferred,
            inferred=inferred,
            column_order=order,
            split_key=split_key,
            max_line_bytes=max_line_bytes,
        )
    )
    for key, file_name in (("schema", artifacts.SCHEMA_FILE), ("stats", artifacts.STATS_FILE)):
        # One document each: a plain write (a rerun rewrites it) costs fewer steps than a sink.
        _ = prepared[key] | f"Write{key.title()}" >> beam.Map(_write_json, f"{tmp}/{file_name}")
    _ = prepared["split_stats"] | "WriteFeatureStats" >> beam.Map(_write_feature_stats, tmp)
    try:
        pipeline.run().wait_until_finish()
    except Exception as e:
        # Runners wrap worker errors in their own exception and traceback text; surface ours.
        found = re.search(r"MalformedInputError: ([^\n]+)", str(e))
        if found:
            message = found.group(1).split(" [while running")[0].strip().strip("'\"")
            raise MalformedInputError(message) from e
        raise


def _write_feature_stats(by_split: dict, output_dir: str) -> None:
    for split, stats in by_split.items():
        path = artifacts.feature_stats_path(output_dir, split)
        with FileSystems.create(path, mime_type="application/octet-stream") as f:
            f.write(feature_statistics(split, stats).SerializeToString(deterministic=True))


def _write_json(document: dict, path: str) -> None:
    with FileSystems.create(path, mime_type="application/json") as f:
        f.write((json.dumps(document, indent=2) + "\n").encode("utf-8"))


def _read_json(path: str) -> dict:
    with FileSystems.open(path) as f:
        return json.loads(f.read().decode("utf-8"))
