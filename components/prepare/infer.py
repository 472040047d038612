"""Schema inference: a column is numeric when at least 95% of its non-empty values are numbers.

`Tallies` counts, per column, the non-empty values, how many are integers, other numbers and
numbers written with a leading zero. The type follows from the counts (`ColumnTally.type`):
- no value at all: string;
- any number with a leading zero ("007"): string, the column holds codes;
- at least rows.NUMERIC_PERCENT% numbers: float if any is not an integer, else int; the
  other values become dead letters;
- else string; with some numbers among the values it is a "mixed" column (warned about).

`prepare` infers a provisional schema from a sample of each file's head, then tallies every
row while writing; the schema is the one of the tallies over every row.
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re
from collections.abc import Iterable, Sequence

from components.prepare import rows as rows_lib
from components.schema import Column, Schema

# Distinct texts whose number kind a Tallies remembers.
_KIND_CACHE = 1 << 16
# What every number's text starts like (int() and float() take leading spaces and a sign).
_NUMBERISH = re.compile(r"\s*[+-]?[\d.]")


@dataclasses.dataclass
class ColumnTally:
    """Counts of one column's non-empty values; `example_*` are the smallest such texts."""

    present: int = 0
    ints: int = 0
    floats: int = 0
    padded: int = 0
    example_other: str | None = None
    example_padded: str | None = None

    @property
    def numbers(self) -> int:
        return self.ints + self.floats

    @property
    def others(self) -> int:
        return self.present - self.numbers

    def type(self) -> str:
        if not self.present or self.padded:
            return "string"
        if 100 * self.numbers >= rows_lib.NUMERIC_PERCENT * self.present:
            return "float" if self.floats else "int"
        return "string"

    def is_mixed(self) -> bool:
        """A string column some of whose values are numbers, or a numeric one with others."""
        return bool(self.numbers and (self.others or self.padded))

    def add(self, kind: str, text: str, n: int = 1, padded: bool = False) -> None:
        self.present += n
        if kind == "int":
            self.ints += n
        elif kind == "float":
            self.floats += n
        else:
            self.example_other = _smaller(self.example_other, text)
        if padded:
            self.padded += n
            self.example_padded = _smaller(self.example_padded, text)

    def merge(self, other: ColumnTally) -> None:
        self.present += other.present
        self.ints += other.ints
        self.floats += other.floats
        self.padded += other.padded
        self.example_other = _smaller(self.example_other, other.example_other)
        self.example_padded = _smaller(self.example_padded, other.example_padded)

    def to_dict(self) -> dict:
        return {
            "values": self.present,
            "numbers": self.numbers,
            "leading_zero": self.padded,
            "example_not_a_number": self.example_other,
            "example_leading_zero": self.example_padded,
        }


def _smaller(a: str | None, b: str | None) -> str | None:
    # The smallest text is the same whichever way chunks are merged.
    return b if a is None else a if b is None else min(a, b)


class Tallies:
    """Column name -> ColumnTally, in first-seen order; merges with others."""

    def __init__(self):
        self.columns: dict[str, ColumnTally] = {}
        self._kinds: dict[str, tuple[str, bool]] = {}

    def __getstate__(self):
        return {"columns": self.columns}  # the cache is rebuilt where it is needed

    def __setstate__(self, state):
        self.columns, self._kinds = state["columns"], {}

    def column(self, name: str) -> ColumnTally:
        tally = self.columns.get(name)
        if tally is None:
            tally = self.columns[name] = ColumnTally()
        return tally

    def add_names(self, names: Iterable[str]) -> None:
        for name in names:
            self.column(name)

    def _kind(self, text: str) -> tuple[str, bool]:
        found = self._kinds.get(text)
        if found is None:
            if _NUMBERISH.match(text) is None:  # most text fails at its first character
                found = ("other", False)
            else:
                stripped = text.strip()
                kind = rows_lib.number_kind(stripped)
                found = (kind, kind != "other" and rows_lib.is_padded(stripped))
            if len(self._kinds) < _KIND_CACHE:
                self._kinds[text] = found
        return found

    def _kinds_of(self, keys: list[str]) -> list[tuple[str, bool]]:
        """The (kind, padded) of each distinct present text; whole columns of numbers are
        converted at once (a few list comprehensions, no exception per value)."""
        kinds = None
        try:
            values = [int(k) for k in keys]
            if not values or rows_lib.INT64_MIN <= min(values) <= max(values) <= rows_lib.INT64_MAX:
                kinds = ["int"] * len(keys)
        except ValueError:
            try:
                if all(map(math.isfinite, [float(k) for k in keys])):
                    # Every text parses as a float: those without '.' or an exponent are ints
                    # (numbers only within int64).
                    kinds = [
                        "float" if "." in k or "e" in k or "E" in k else _int_kind(k) for k in keys
                    ]
            except ValueError:
                pass
        if kinds is None:
            return [self._kind(k) for k in keys]
        joined = ",".join(keys)
        if rows_lib.is_padded(joined) or rows_lib.PADDED_AFTER_COMMA.search(joined):
            return [(kind, rows_lib.is_padded(k)) for kind, k in zip(kinds, keys)]
        return [(kind, False) for kind in kinds]

    def add_texts(self, name: str, texts: Sequence[str]) -> None:
        """Counts the CSV texts of column `name` (missing ones are skipped)."""
        tally = self.column(name)
        counts = collections.Counter(texts)
        keys = [k for k in counts if k.strip() not in rows_lib.MISSING_TEXT]
        for key, (kind, padded) in zip(keys, self._kinds_of(keys)):
            tally.add(kind, key, counts[key], padded)

    def add_csv(self, header: Sequence[str], texts: Sequence[str]) -> None:
        """Counts every well-formed CSV record; wrong field counts are left to validation."""
        fields = []
        for text in texts:
            try:
                fields.append(list(rows_lib.split_fields("csv", tuple(header), text).values()))
            except rows_lib.BadRow:
                continue
        self.add_names(header)
        for name, column in zip(header, zip(*fields)):
            self.add_texts(name, column)

    def add_json(self, rows: Iterable[dict]) -> None:
        """Counts parsed JSON objects: JSON numbers are numbers, a JSON string never is (a
        quoted "02134" stays a string)."""
        for fields in rows:
            for name, raw in fields.items():
                tally = self.column(name)
                if rows_lib.is_missing(raw):
                    continue
                tally.add(_json_kind(raw), raw if isinstance(raw, str) else repr(raw))

    def add_json_texts(self, header: Sequence[str], texts: Sequence[str]) -> None:
        """Counts every JSON Lines record that is an object."""
        parsed = []
        for text in texts:
            try:
                parsed.append(rows_lib.split_fields("jsonl", tuple(header), text))
            except rows_lib.BadRow:
                continue
        self.add_names(header)
        self.add_json(parsed)

    def merge(self, other: Tallies) -> Tallies:
        for name, tally in other.columns.items():
            self.column(name).merge(tally)
        return self

    def mixed(self) -> dict[str, dict]:
        """{column: counts and its inferred type} of the columns holding numbers and other values."""
        return {
            name: {"type": tally.type(), **tally.to_dict()}
            for name, tally in self.columns.items()
            if tally.is_mixed()
        }

    def schema(self, column_order: Sequence[str], label: str | None, *, provisional=False):
        """The Schema: columns in `column_order`, then any other names sorted.

        A label never seen is an error, unless `provisional` (a sample may miss a JSON key),
        which adds it as a string column.

        Raises:
            ValueError: the label is not a column of the data.
        """
        types = {name: tally.type() for name, tally in self.columns.items()}
        if label is not None and label not in types:
            if not provisional:
                names = self.schema(column_order, None).names
                raise ValueError(f"label column {label!r} is not in the data (columns: {names})")
            types[label] = "string"
        order = [n for n in column_order if n in types]
        names = order + sorted(set(types) - set(order))
        return Schema(columns=tuple(Column(n, types[n]) for n in names), label=label)


def _int_kind(text: str) -> str:
    return "int" if rows_lib.INT64_MIN <= int(text) <= rows_lib.INT64_MAX else "other"


def _json_kind(raw) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        return "other"
    if isinstance(raw, int):
        return "int" if rows_lib.INT64_MIN <= raw <= rows_lib.INT64_MAX else "other"
    return "float" if math.isfinite(raw) else "other"
