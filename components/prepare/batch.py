"""A batch of records -> typed columns of the good rows, their split keys, and dead letters.

CSV is converted a column at a time (one list comprehension per column); a row found bad is
parsed again alone by `rows.RowParser`, whose message is the dead-letter reason, so batch and
row rules cannot drift apart. JSON Lines go row by row through the same `rows` functions.

When an inferred schema is being verified, every well-formed row is also tallied
(`infer.Tallies`), exactly as inference over all rows would count it, mostly at C speed:
a column that converted as a whole is counted from its values, not value by value.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import itertools
import math

from components.prepare import rows as rows_lib
from components.prepare.infer import Tallies
from components.prepare.reading import Records
from components.schema import Schema

_MISSING = rows_lib.MISSING_TEXT


@dataclasses.dataclass
class ParsedBatch:
    """Good rows as columns in schema order (None = missing), their split keys, dead letters."""

    columns: list[list]
    keys: list[str]
    dead_letters: list[dict]
    reasons: collections.Counter = dataclasses.field(default_factory=collections.Counter)


def _int_column(texts):
    values = [None if t in _MISSING else int(t) for t in texts]
    present = [v for v in values if v is not None]
    if present and (min(present) < rows_lib.INT64_MIN or max(present) > rows_lib.INT64_MAX):
        raise ValueError("outside the int64 range")
    return values


def _float_column(texts):
    values = [None if t in _MISSING else float(t) for t in texts]
    if not all(map(math.isfinite, [v for v in values if v is not None])):
        raise ValueError("non-finite float")
    return values


def _string_column(texts):
    return [None if t in _MISSING or t.strip() in _MISSING else t for t in texts]


_COLUMN_CONVERTERS = {"int": _int_column, "float": _float_column, "string": _string_column}


def _one_by_one(texts, type_):
    """(values, indices of bad values) the slow way, when the column converter raised."""
    convert = rows_lib.TEXT_CONVERTERS[type_]
    values, bad = [], []
    for i, text in enumerate(texts):
        if rows_lib.is_missing(text):
            values.append(None)
            continue
        try:
            values.append(convert(text.strip()))
        except ValueError:
            values.append(None)
            bad.append(i)
    return values, bad


def _split_csv(header: tuple[str, ...], texts: list[str]) -> tuple[set[int], dict[str, list]]:
    """(indices of rows with a wrong field count, {column: raw texts}) of CSV records.

    Bad rows get empty fields: missing values that neither fail conversion nor widen types.
    Without quotes, the batch is split as one string and columns are slices: no list per row.
    """
    return _split_csv_joined(header, texts)[:2]


def _split_csv_joined(header, texts):
    """`_split_csv` plus whether any field may be a number with a leading zero."""
    width = len(header)
    joined = ",".join(texts)
    if not texts or '"' in joined:
        return (*_split_rows(header, texts), True)
    # One look over the whole batch spares one per numeric column in the usual case.
    maybe_padded = bool(rows_lib.is_padded(joined) or rows_lib.PADDED_AFTER_COMMA.search(joined))
    commas = list(map(str.count, texts, itertools.repeat(",", len(texts))))
    bad_rows = set()
    if commas.count(width - 1) != len(texts):
        bad_rows = {i for i, n in enumerate(commas) if n != width - 1}
        blank = "," * (width - 1)
        joined = ",".join([blank if i in bad_rows else t for i, t in enumerate(texts)])
    flat = joined.split(",")
    return bad_rows, {name: flat[i::width] for i, name in enumerate(header)}, maybe_padded


def _split_rows(header, texts):
    """`_split_csv` a row at a time, with the csv module for rows with quotes."""
    width = len(header)
    fields = [t.split(",") if '"' not in t else next(csv.reader([t]), []) for t in texts]
    bad_rows = {i for i, f in enumerate(fields) if len(f) != width}
    fields = [[""] * width if i in bad_rows else f for i, f in enumerate(fields)]
    columns = [list(column) for column in zip(*fields)] or [[] for _ in header]
    return bad_rows, dict(zip(header, columns))


def _tally_numbers(tally, column: list[str], values: list, type_: str, maybe_padded=True):
    """Counts a numeric column whose every present text converted (`values`)."""
    present = len(values) - values.count(None)
    if not present:
        return
    floats, joined = 0, None
    if type_ == "float":
        # Converted texts with '.' or an exponent are the non-integers (int() takes the rest;
        # a converted text holds at most one '.').
        joined = ",".join(column)
        if "e" in joined or "E" in joined:
            floats = sum(1 for t in column if "." in t or "e" in t or "E" in t)
        else:
            floats = joined.count(".")
    tally.present += present
    tally.ints += present - floats
    tally.floats += floats
    if not maybe_padded:
        return
    joined = ",".join(column) if joined is None else joined
    if rows_lib.is_padded(joined) or rows_lib.PADDED_AFTER_COMMA.search(joined):
        padded = sorted(t for t in column if t not in _MISSING and rows_lib.is_padded(t))
        if padded:
            tally.padded += len(padded)
            tally.example_padded = min(filter(None, (tally.example_padded, padded[0])))


class BatchParser:
    """Parses record batches of one schema.

    With `tallies` (an inferred schema being verified), every well-formed row is also
    counted into `tallies`. With `inferred`, bad values' reasons name the inference rule.
    """

    def __init__(
        self,
        schema: Schema,
        *,
        split_key: str | None = None,
        tallies: Tallies | None = None,
        inferred: bool = False,
    ):
        self._schema = schema
        self._row_parser = rows_lib.RowParser(schema, inferred=inferred)
        self._inferred = inferred
        self._names = schema.names
        self._types = [c.type for c in schema.columns]
        self._label = schema.names.index(schema.label) if schema.label is not None else None
        self._key = schema.names.index(split_key) if split_key in schema.names else None
        self._by_key = split_key is not None
        self._tallies = tallies

    def parse(self, source: str, fmt: str, header, records: Records) -> ParsedBatch:
        """A ParsedBatch of `records` read from `source`."""
        header = tuple(header)
        texts = records.texts
        if fmt == "csv":
            columns, bad = self._csv_columns(header, texts)
        else:
            columns, bad = self._json_columns(header, texts)
        dead_letters = []
        reasons = collections.Counter()
        if bad:
            dead_letters = [
                {
                    "source": source,
                    "line": records.lines[i],
                    "text": texts[i],
                    "reason": str(bad[i]),
                }
                for i in sorted(bad)
            ]
            reasons.update(e.kind for e in bad.values())
            good = [i for i in range(len(texts)) if i not in bad]
            columns = [[values[i] for i in good] for values in columns]
            texts = [texts[i] for i in good]
        if not self._by_key:
            keys = texts
        elif self._key is None:
            keys = [""] * len(texts)
        else:
            keys = ["" if v is None else str(v) for v in columns[self._key]]
        return ParsedBatch(columns=columns, keys=keys, dead_letters=dead_letters, reasons=reasons)

    def _reason(self, fmt, header, text) -> rows_lib.BadRow:
        try:
            self._row_parser(fmt, header, text)
        except rows_lib.BadRow as e:
            return e
        raise AssertionError(f"batch and row parsing disagree on {text!r}")  # a bug, not data

    def _csv_columns(self, header, texts):
        """Columns over all records (None in bad rows) and {record index: BadRow}."""
        bad_rows, by_name, maybe_padded = _split_csv_joined(header, texts)
        columns = []
        tallies = self._tallies
        for name, type_ in zip(self._names, self._types):
            column = by_name[name]
            failed = ()
            try:
                values = _COLUMN_CONVERTERS[type_](column)
            except ValueError:
                values, failed = _one_by_one(column, type_)
                bad_rows.update(failed)
            if tallies is not None:
                if type_ == "string" or failed:
                    tallies.add_texts(name, column)  # value by distinct value
                else:
                    _tally_numbers(tallies.column(name), column, values, type_, maybe_padded)
            columns.append(values)
        if self._label is not None:
            bad_rows.update(i for i, v in enumerate(columns[self._label]) if v is None)
        return columns, {i: self._reason("csv", header, texts[i]) for i in bad_rows}

    def _json_columns(self, header, texts):
        rows, bad = [], {}
        parsed = []
        for i, text in enumerate(texts):
            try:
                fields = rows_lib.split_fields("jsonl", header, text)
            except rows_lib.BadRow as e:
                bad[i] = e
                rows.append({})
                continue
            parsed.append(fields)
            try:
                rows.append(rows_lib.typed_row(fields, self._schema, self._inferred))
            except rows_lib.BadRow as e:
                bad[i] = e
                rows.append({})
        if self._tallies is not None:
            self._tallies.add_json(parsed)
        return [[row.get(name) for row in rows] for name in self._names], bad
