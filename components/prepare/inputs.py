"""Input files: resolve patterns, detect formats, check each file's head and sample its rows."""

from __future__ import annotations

# First: Beam imported through beam_import, which hides its import-time chatter.
from components.prepare import beam_import  # noqa: F401

# isort: split

import csv
import dataclasses
import json
from collections.abc import Sequence

from apache_beam.io.filesystems import FileSystems

from components.prepare.reading import MAX_LINE_BYTES, MalformedInputError, iter_record_blocks

__all__ = ["MAX_LINE_BYTES", "MalformedInputError", "InputFile", "read_head", "read_header"]

FORMATS = ("csv", "jsonl")
_EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl"}
# Schema inference starts from the first records of each file (up to SAMPLE_RECORDS in the
# first SAMPLE_BLOCKS blocks); every row is checked later.
SAMPLE_RECORDS = 10_000
SAMPLE_BLOCKS = 4


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


def total_bytes(paths: Sequence[str]) -> int:
    """Size of the files at `paths` together, as stored (compressed files count compressed)."""
    return sum(m.size_in_bytes for r in FileSystems.match(list(paths)) for m in r.metadata_list)


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


def read_header(path: str, fmt: str, max_line_bytes: int = MAX_LINE_BYTES) -> InputFile:
    """Checks the head of `path` (not empty, has data rows) and returns its columns.

    Raises:
        MalformedInputError: naming the file and what is wrong with it.
    """
    return read_head(path, fmt, max_line_bytes)[0]


def read_head(
    path: str, fmt: str, max_line_bytes: int = MAX_LINE_BYTES, sample: int = SAMPLE_RECORDS
) -> tuple[InputFile, list[tuple[int, str]]]:
    """`read_header` plus up to `sample` data records (line, text) from the file's head.

    Raises:
        MalformedInputError: naming the file and what is wrong with it.
    """
    head: list[tuple[int, str]] = []
    blocks = iter_record_blocks(path, fmt, max_line_bytes=max_line_bytes)
    try:
        for seen, records in enumerate(blocks, 1):
            head += zip(records.lines, records.texts)
            if len(head) > sample or (seen >= SAMPLE_BLOCKS and len(head) > 1):
                break
    finally:
        blocks.close()
    first = head[0] if head else None
    if first is None:
        raise MalformedInputError(f"{path}: file is empty (no header and no rows)")
    if fmt == "csv":
        header = tuple(name.strip() for name in next(csv.reader([first[1]])))
        if any(not name for name in header):
            raise MalformedInputError(f"{path}: header has an empty column name: {first[1]!r}")
        dupes = sorted({n for n in header if header.count(n) > 1})
        if dupes:
            raise MalformedInputError(f"{path}: header repeats column names {dupes}")
        if len(head) < 2:
            raise MalformedInputError(f"{path}: has a header but no data rows")
        head = head[1:]
    else:
        try:
            row = json.loads(first[1])
        except json.JSONDecodeError as e:
            raise MalformedInputError(f"{path}: line {first[0]} is not JSON: {e}") from None
        if not isinstance(row, dict):
            raise MalformedInputError(f"{path}: line {first[0]} is not a JSON object")
        header = tuple(row)
    return InputFile(path=path, format=fmt, header=header), head[:sample]
