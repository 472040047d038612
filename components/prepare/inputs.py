"""Input files: resolve patterns, check each file's head, and read records with line numbers."""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator, Sequence

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems

FORMATS = ("csv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}
MAX_LINE_BYTES = 1 << 20
BATCH_RECORDS = 1024
_BLOCK = 1 << 20
MISSING_TEXT = ("", "NA")


class MalformedInputError(ValueError):
    """An input file cannot be read as a table (message names the file)."""


@dataclasses.dataclass(frozen=True)
class InputFile:
    """One matched file, its format and its columns (CSV header, or keys of the first JSON row)."""

    path: str
    format: str
    header: tuple[str, ...]


def detect_format(path: str, forced: str | None = None) -> str:
    """'csv' or 'jsonl' from `forced` or the extension (a trailing .gz is ignored)."""
    if forced:
        if forced not in FORMATS:
            raise ValueError(f"input format {forced!r} is not one of {FORMATS}")
        return forced
    name = path[:-3] if path.endswith(".gz") else path
    for ext, fmt in _EXTENSIONS.items():
        if name.lower().endswith(ext):
            return fmt
    raise MalformedInputError(
        f"{path}: cannot tell the format from the extension (want one of "
        f"{sorted(_EXTENSIONS)}); pass input_format='csv' or 'jsonl'"
    )


def match_inputs(patterns: Sequence[str]) -> list[str]:
    """Every file matched by `patterns` (paths or globs on any Beam filesystem), sorted, unique.

    Raises:
        FileNotFoundError: naming a pattern that matches nothing.
    """
    if isinstance(patterns, str) or not patterns:
        raise ValueError(f"inputs must be a non-empty list of paths or patterns, got {patterns!r}")
    paths: list[str] = []
    for result in FileSystems.match(list(patterns)):
        found = sorted(m.path for m in result.metadata_list)
        if not found:
            raise FileNotFoundError(f"input pattern {result.pattern!r} matches no files")
        paths.extend(p for p in found if p not in paths)
    return paths


def iter_lines(path: str, max_line_bytes: int = MAX_LINE_BYTES) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of every line of `path`, decoded as UTF-8, without newline.

    Reads in blocks so a huge line costs at most `max_line_bytes` of memory before failing.

    Raises:
        MalformedInputError: a line is not UTF-8 or is longer than `max_line_bytes`.
    """
    with FileSystems.open(path) as f:
        pending, line_no = b"", 0
        while True:
            block = f.read(_BLOCK)
            if not block:
                break
            pieces = (pending + block).split(b"\n")
            pending = pieces.pop()
            if len(pending) > max_line_bytes:
                _too_long(path, line_no + len(pieces) + 1, max_line_bytes)
            for raw in pieces:
                line_no += 1
                yield line_no, _decode(path, line_no, raw, max_line_bytes)
        if pending:
            yield line_no + 1, _decode(path, line_no + 1, pending, max_line_bytes)


def _too_long(path: str, line_no: int, limit: int):
    raise MalformedInputError(
        f"{path}: line {line_no} is longer than {limit} bytes; is this a table with one row "
        "per line? (raise max_line_bytes if such rows are real)"
    )


def _decode(path: str, line_no: int, raw: bytes, limit: int) -> str:
    if len(raw) > limit:
        _too_long(path, line_no, limit)
    if line_no == 1 and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError as e:
        raise MalformedInputError(
            f"{path}: line {line_no} is not valid UTF-8 (byte {raw[e.start]:#04x} at column "
            f"{e.start + 1}); re-encode the file as UTF-8"
        ) from None


def iter_records(
    path: str, fmt: str, max_line_bytes: int = MAX_LINE_BYTES
) -> Iterator[tuple[int, str]]:
    """(first line number, raw text) of every non-blank record; a quoted CSV field may span lines."""
    lines = iter_lines(path, max_line_bytes)
    for line_no, text in lines:
        if not text.strip():
            continue
        # RFC 4180 doubles quotes inside quoted fields, so an odd count means the field goes on.
        while fmt == "csv" and text.count('"') % 2:
            more = next(lines, None)
            if more is None:
                break
            text = f"{text}\n{more[1]}"
        yield line_no, text


def read_header(path: str, fmt: str, max_line_bytes: int = MAX_LINE_BYTES) -> InputFile:
    """Checks the head of `path` (not empty, has data rows) and returns its columns.

    Raises:
        MalformedInputError: naming the file and what is wrong with it.
    """
    records = iter_records(path, fmt, max_line_bytes)
    first = next(records, None)
    if first is None:
        raise MalformedInputError(f"{path}: file is empty (no header and no rows)")
    if fmt == "csv":
        header = tuple(name.strip() for name in next(csv.reader([first[1]])))
        if any(not name for name in header):
            raise MalformedInputError(f"{path}: header has an empty column name: {first[1]!r}")
        dupes = sorted({n for n in header if header.count(n) > 1})
        if dupes:
            raise MalformedInputError(f"{path}: header repeats column names {dupes}")
        if next(records, None) is None:
            raise MalformedInputError(f"{path}: has a header but no data rows")
    else:
        try:
            row = json.loads(first[1])
        except json.JSONDecodeError as e:
            raise MalformedInputError(f"{path}: line {first[0]} is not JSON: {e}") from None
        if not isinstance(row, dict):
            raise MalformedInputError(f"{path}: line {first[0]} is not a JSON object")
        header = tuple(row)
    return InputFile(path=path, format=fmt, header=header)


class ReadRecordBatches(beam.DoFn):
    """InputFile -> (source, format, header, [(line, text), ...]) batches.

    Batches keep the per-element cost of the runner small; the CSV header line is skipped.
    """

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES, batch_records: int = BATCH_RECORDS):
        self._max_line_bytes = max_line_bytes
        self._batch_records = batch_records

    def process(self, source):
        records = iter_records(source.path, source.format, self._max_line_bytes)
        if source.format == "csv":
            next(records, None)
        batch = []
        for record in records:
            batch.append(record)
            if len(batch) >= self._batch_records:
                yield source.path, source.format, source.header, batch
                batch = []
        if batch:
            yield source.path, source.format, source.header, batch
