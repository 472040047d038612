"""Records of a file, a block at a time, and byte-range chunks that start on record boundaries.

A record is a non-blank line; in CSV a line with an odd number of quotes goes on to the next
(RFC 4180 doubles quotes inside quoted fields). So a newline ends a record exactly when the
count of '"' bytes from the start of the file up to it is even, which lets `plan_chunks` cut
a file into byte ranges with one pass of C-speed counting.
"""

from __future__ import annotations

# First: Beam imported through beam_import, which hides its import-time chatter.
from components.prepare import beam_import  # noqa: F401

# isort: split

import dataclasses
from collections.abc import Iterator, Sequence
from typing import NamedTuple

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from components.prepare.args import MAX_LINE_BYTES

BLOCK_BYTES = 1 << 18
# Chunk sizes: about CHUNKS_PER_FILE per file, within [MIN_CHUNK_BYTES, MAX_CHUNK_BYTES].
MIN_CHUNK_BYTES = 1 << 20
MAX_CHUNK_BYTES = 64 << 20
CHUNKS_PER_FILE = 8
_BOM = b"\xef\xbb\xbf"


class MalformedInputError(ValueError):
    """An input file cannot be read as a table (message names the file)."""


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Bytes [start, end) of one input file (end None: to the end), first line `first_line`.

    `index` numbers the chunks of file number `file_index`; chunk 0 of a CSV file holds the
    header, which readers skip.
    """

    path: str
    format: str
    header: tuple[str, ...]
    file_index: int
    index: int
    start: int = 0
    end: int | None = None
    first_line: int = 1


class Records(NamedTuple):
    """A block of records: each one's (first) line number, and its text."""

    lines: Sequence[int]
    texts: list[str]


def iter_record_blocks(
    path: str,
    fmt: str,
    *,
    start: int = 0,
    end: int | None = None,
    first_line: int = 1,
    max_line_bytes: int = MAX_LINE_BYTES,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[Records]:
    """Non-empty Records of `path` from byte `start` to `end`, a block of bytes at a time.

    Texts are UTF-8 lines without their newline and trailing CRs; blank lines are skipped.

    Raises:
        MalformedInputError: a line is not UTF-8 or is longer than `max_line_bytes`.
    """
    with FileSystems.open(path) as f:
        if start:
            f.seek(start)
        left = None if end is None else end - start
        pending, line_no, open_record = b"", first_line, None
        while True:
            block = f.read(block_bytes if left is None else min(block_bytes, left))
            if left is not None:
                left -= len(block)
            data = pending + block
            if block:
                cut = data.rfind(b"\n") + 1
                data, pending = data[:cut], data[cut:]
                if len(pending) > max_line_bytes:
                    _too_long(path, line_no + data.count(b"\n"), max_line_bytes)
                if not data:
                    continue  # no line ends in this block yet
            elif not data:
                break
            lines, quoted = _decode_lines(path, line_no, data, max_line_bytes)
            if fmt == "csv" and (quoted or open_record is not None):
                records, open_record = _quoted_records(line_no, lines, open_record)
            else:
                records = _plain_records(line_no, lines)
            line_no += len(lines)
            if records.texts:
                yield records
            if not block:
                break
        if open_record is not None:  # a quoted field still open at the end of the file
            yield Records([open_record[0]], [open_record[1]])


def _decode_lines(path: str, line_no: int, data: bytes, limit: int) -> tuple[list[str], bool]:
    """(lines, whether any has a quote) of `data`: whole lines, the last maybe unterminated."""
    if line_no == 1 and data.startswith(_BOM):
        data = data[3:]
    if len(data) > limit:
        raw_lines = data.split(b"\n")
        longest = max(range(len(raw_lines)), key=lambda i: len(raw_lines[i]))
        if len(raw_lines[longest]) > limit:
            _too_long(path, line_no + longest, limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        bad_line = line_no + data.count(b"\n", 0, e.start)
        column = e.start - data.rfind(b"\n", 0, e.start)
        raise MalformedInputError(
            f"{path}: line {bad_line} is not valid UTF-8 (byte {data[e.start]:#04x} at column "
            f"{column}); re-encode the file as UTF-8"
        ) from None
    lines = text.split("\n")
    if data.endswith(b"\n"):
        lines.pop()
    if "\r" in text:
        lines = [line.rstrip("\r") for line in lines]
    return lines, '"' in text


def _plain_records(line_no: int, lines: list[str]) -> Records:
    texts = [t for t in lines if t and not t.isspace()]
    if len(texts) == len(lines):
        return Records(range(line_no, line_no + len(lines)), texts)
    return Records([n for n, t in enumerate(lines, line_no) if t and not t.isspace()], texts)


def _quoted_records(line_no: int, lines: list[str], open_record):
    """(Records, (line, text) of a record still open) when quoted fields may span lines."""
    numbers, texts = [], []
    for n, text in enumerate(lines, line_no):
        if open_record is not None:
            first, joined = open_record
            joined = f"{joined}\n{text}"
            if text.count('"') % 2:  # the odd quote closes the field
                numbers.append(first)
                texts.append(joined)
                open_record = None
            else:
                open_record = (first, joined)
        elif text and not text.isspace():
            if text.count('"') % 2:
                open_record = (n, text)
            else:
                numbers.append(n)
                texts.append(text)
    return Records(numbers, texts), open_record


def _too_long(path: str, line_no: int, limit: int):
    raise MalformedInputError(
        f"{path}: line {line_no} is longer than {limit} bytes; is this a table with one row "
        "per line? (raise max_line_bytes if such rows are real)"
    )


def iter_chunk_records(
    chunk: Chunk, max_line_bytes: int = MAX_LINE_BYTES, block_bytes: int = BLOCK_BYTES
) -> Iterator[Records]:
    """`iter_record_blocks` over one chunk, without the CSV header."""
    blocks = iter_record_blocks(
        chunk.path,
        chunk.format,
        start=chunk.start,
        end=chunk.end,
        first_line=chunk.first_line,
        max_line_bytes=max_line_bytes,
        block_bytes=block_bytes,
    )
    skip = chunk.format == "csv" and chunk.index == 0
    for records in blocks:
        if skip:
            records, skip = Records(records.lines[1:], records.texts[1:]), False
        if records.texts:
            yield records


def plan_chunks(
    path: str,
    fmt: str,
    header: tuple[str, ...],
    file_index: int,
    *,
    chunk_bytes: int | None = None,
) -> list[Chunk]:
    """Cuts `path` into chunks of about `chunk_bytes` (default: from the file size).

    Reads the file once, counting newlines and quotes; compressed files are one chunk.
    """
    whole = Chunk(path, fmt, header, file_index, 0)
    if CompressionTypes.detect_compression_type(path) != CompressionTypes.UNCOMPRESSED:
        return [whole]
    size = FileSystems.match([path])[0].metadata_list[0].size_in_bytes
    if chunk_bytes is None:
        chunk_bytes = min(max(size // CHUNKS_PER_FILE, MIN_CHUNK_BYTES), MAX_CHUNK_BYTES)
    if size <= chunk_bytes:
        return [whole]
    cuts = [(0, 1)]  # (byte offset, line number) where each chunk starts
    offset, lines, quotes = 0, 1, 0
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        while block := f.read(BLOCK_BYTES):
            due = cuts[-1][0] + chunk_bytes - offset  # where the next cut is due, in `block`
            while due < len(block):
                at = block.find(b"\n", max(due, 0))
                while at >= 0 and fmt == "csv" and (quotes + block.count(b'"', 0, at)) % 2:
                    at = block.find(b"\n", at + 1)  # inside a quoted field: no record ends here
                if at < 0 or offset + at + 1 >= size:
                    break
                cuts.append((offset + at + 1, lines + block.count(b"\n", 0, at + 1)))
                due = at + 1 + chunk_bytes
            lines += block.count(b"\n")
            quotes += block.count(b'"') if fmt == "csv" else 0
            offset += len(block)
    ends = [start for start, _ in cuts[1:]] + [None]
    return [
        Chunk(path, fmt, header, file_index, i, start, end, line)
        for i, ((start, line), end) in enumerate(zip(cuts, ends))
    ]
