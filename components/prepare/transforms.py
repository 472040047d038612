"""The prepare algorithm as Beam transforms: cut files into chunks, prepare each chunk in one
step (read, parse, validate, split, encode, write, count), merge the per-chunk summaries.

Rows never travel between steps one by one: a chunk's rows stay in the worker that reads
them, in batches of columns, and only dead letters and one summary per chunk leave it.
"""

from __future__ import annotations

# First: Beam imported through beam_import, which hides its import-time chatter.
from components.prepare import beam_import  # noqa: F401

# isort: split

import collections
import dataclasses
import json
from collections.abc import Mapping, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

from components import artifacts
from components.prepare import reading
from components.prepare.batch import BatchParser
from components.prepare.encode import ExampleEncoder, TFRecordFile
from components.prepare.infer import Tallies
from components.prepare.splits import SplitAssigner
from components.schema import Schema
from components.statistics import StatsAccumulator, finish, split_stats


@dataclasses.dataclass
class ChunkSummary:
    """What a chunk adds up to: statistics, dead letters (count and count per reason kind),
    and (when verifying an inferred schema) the column tallies."""

    stats: StatsAccumulator
    dead_letter: int = 0
    tallies: Tallies | None = None
    reasons: collections.Counter = dataclasses.field(default_factory=collections.Counter)

    def merge(self, other: ChunkSummary) -> ChunkSummary:
        self.stats.merge(other.stats)
        self.dead_letter += other.dead_letter
        self.reasons.update(other.reasons)
        if other.tallies is not None:
            if self.tallies is None:
                self.tallies = Tallies()
            self.tallies.merge(other.tallies)
        return self


def examples_path(output_dir: str, split: str, chunk: reading.Chunk) -> str:
    """OUT/Split-<split>/data-<file>-<chunk>.tfrecord.gz: one file per chunk and split."""
    name = f"data-{chunk.file_index:05d}-{chunk.index:05d}{artifacts.TFRECORD_SUFFIX}"
    return f"{artifacts.split_dir(output_dir, split)}/{name}"


def dead_letter_path(output_dir: str, chunk: reading.Chunk) -> str:
    """OUT/dead_letter/part-<file>-<chunk>.jsonl, written only by chunks with dead letters."""
    name = f"part-{chunk.file_index:05d}-{chunk.index:05d}.jsonl"
    return f"{output_dir}/{artifacts.DEAD_LETTER_DIR}/{name}"


class PlanChunks(beam.DoFn):
    """(file index, InputFile) -> reading.Chunk per byte range of the file."""

    def __init__(self, chunk_bytes: int | None = None):
        self._chunk_bytes = chunk_bytes

    def process(self, indexed_file):
        index, source = indexed_file
        yield from reading.plan_chunks(
            source.path, source.format, source.header, index, chunk_bytes=self._chunk_bytes
        )


class PrepareChunk(beam.DoFn):
    """Chunk -> ChunkSummary, its examples written to one gzip TFRecord file per split and its
    {source, line, text, reason} dead letters to one JSON Lines file.

    A rerun of a chunk rewrites the same files with the same bytes. With `verify`, every row
    is also tallied for inference; with `inferred`, bad values' reasons name the rule.
    """

    def __init__(
        self,
        *,
        output_dir: str,
        splits: Sequence[str] | Mapping[str, float],
        schema: Schema,
        verify: bool = False,
        inferred: bool = False,
        split_key: str | None = None,
        max_line_bytes: int = reading.MAX_LINE_BYTES,
    ):
        self._output_dir = output_dir
        self._splits = dict(splits)
        self._schema = schema
        self._verify = verify
        self._inferred = inferred
        self._split_key = split_key
        self._max_line_bytes = max_line_bytes

    def setup(self):
        self._encoder = ExampleEncoder(self._schema)
        self._assign = SplitAssigner(self._splits)

    def process(self, chunk: reading.Chunk):
        tallies = Tallies() if self._verify else None
        parser = BatchParser(
            self._schema, split_key=self._split_key, tallies=tallies, inferred=self._inferred
        )
        summary = ChunkSummary(StatsAccumulator(), tallies=tallies)
        files = {s: TFRecordFile(examples_path(self._output_dir, s, chunk)) for s in self._splits}
        dead_letters = None
        try:
            for records in reading.iter_chunk_records(chunk, self._max_line_bytes):
                batch = parser.parse(chunk.path, chunk.format, chunk.header, records)
                if batch.dead_letters:
                    if dead_letters is None:
                        dead_letters = FileSystems.create(
                            dead_letter_path(self._output_dir, chunk), mime_type="text/plain"
                        )
                    lines = "".join(json.dumps(d) + "\n" for d in batch.dead_letters)
                    dead_letters.write(lines.encode("utf-8"))
                    summary.dead_letter += len(batch.dead_letters)
                    summary.reasons.update(batch.reasons)
                names = self._assign.assign_all(batch.keys)
                examples = self._encoder.encode(batch.columns)
                for split, out in files.items():
                    out.write(
                        examples
                        if len(files) == 1
                        else [e for e, name in zip(examples, names) if name == split]
                    )
                summary.stats.add_batch(self._schema.columns, batch.columns, names)
        finally:
            for out in files.values():
                out.close()
            if dead_letters is not None:
                dead_letters.close()
        summary.stats.compact()
        yield summary


class MergeSummariesFn(beam.CombineFn):
    """ChunkSummary values -> one ChunkSummary."""

    def create_accumulator(self):
        return ChunkSummary(StatsAccumulator())

    def add_input(self, summary, chunk_summary):
        return summary.merge(chunk_summary)

    def merge_accumulators(self, summaries):
        summaries = iter(summaries)
        merged = next(summaries)
        for summary in summaries:
            merged.merge(summary)
        return merged

    def compact(self, summary):
        summary.stats.compact()
        return summary

    def extract_output(self, summary):
        return self.compact(summary)


class PrepareExamples(beam.PTransform):
    """(file index, InputFile) -> examples and dead letters under `output_dir`, plus
    PCollections {"schema", "stats"} of one document each.

    "schema" holds the Schema.to_dict() over every row: `schema` itself unless `verify`,
    else the one inferred from the tallies of every row. If that differs from `schema`, the
    examples were encoded with another schema and must be prepared again with it. "stats"
    holds the stats.json document, "split_stats" {split: its stats alone}.
    """

    def __init__(
        self,
        *,
        output_dir: str,
        splits: Mapping[str, float],
        schema: Schema,
        verify: bool = False,
        inferred: bool = False,
        column_order: Sequence[str] = (),
        split_key: str | None = None,
        max_line_bytes: int = reading.MAX_LINE_BYTES,
        chunk_bytes: int | None = None,
    ):
        super().__init__()
        self._prepare = PrepareChunk(
            output_dir=output_dir,
            splits=splits,
            schema=schema,
            verify=verify,
            inferred=inferred,
            split_key=split_key,
            max_line_bytes=max_line_bytes,
        )
        self._splits = list(splits)
        self._schema = schema
        self._order = list(column_order)
        self._chunk_bytes = chunk_bytes

    def expand(self, files):
        schema, order, names = self._schema, self._order, self._splits
        summary = (
            files
            | "PlanChunks" >> beam.ParDo(PlanChunks(self._chunk_bytes))
            | "Redistribute" >> beam.Reshuffle()
            | "PrepareChunks" >> beam.ParDo(self._prepare)
            | "MergeSummaries" >> beam.CombineGlobally(MergeSummariesFn())
        )

        def final_schema(merged):
            if merged.tallies is None:
                return schema.to_dict()
            return merged.tallies.schema(order, schema.label).to_dict()

        def final_stats(merged):
            mixed = merged.tallies.mixed() if merged.tallies is not None else {}
            return finish(
                merged.stats, schema.to_dict(), merged.dead_letter, names,
                reasons=merged.reasons, mixed=mixed,
            )  # fmt: skip

        return {
            "schema": summary | "FinalSchema" >> beam.Map(final_schema),
            "stats": summary | "FinishStats" >> beam.Map(final_stats),
            "split_stats": summary
            | "SplitStats" >> beam.Map(lambda s: split_stats(s.stats, schema.to_dict(), names)),
        }
