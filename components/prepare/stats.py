"""Per-column statistics: counts, numeric moments, capped string vocabularies; mergeable."""

from __future__ import annotations

import collections
import itertools
import math
import operator
from typing import Any

VOCABULARY_CAP = 1000
# Distinct strings tracked exactly per column; beyond this new values are counted as "other".
MAX_TRACKED = 100_000
_FLUSH = 4096


class _Numbers:
    """count/mean/M2/min/max with values buffered and folded in exactly (math.fsum)."""

    __slots__ = ("count", "mean", "m2", "low", "high", "buffer")

    def __init__(self):
        self.count, self.mean, self.m2 = 0, 0.0, 0.0
        self.low = self.high = None
        self.buffer: list = []

    def fold(self):
        if not self.buffer:
            return
        values, self.buffer = self.buffer, []
        low, high = min(values), max(values)
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        n = len(values)
        mean = math.fsum(values) / n
        deviations = list(map(operator.sub, values, itertools.repeat(mean, n)))
        m2 = math.fsum(map(operator.mul, deviations, deviations))
        self.merge(n, mean, m2)

    def merge(self, n: int, mean: float, m2: float):
        # Chan et al.'s pairwise update: exact enough to merge any number of partial results.
        total = self.count + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total


class _Strings:
    __slots__ = ("counts", "other")

    def __init__(self):
        self.counts: collections.Counter = collections.Counter()
        self.other = 0

    def add(self, value: str, n: int = 1):
        if value in self.counts or len(self.counts) < MAX_TRACKED:
            self.counts[value] += n
        else:
            self.other += n

    def add_all(self, values: list[str]):
        if len(self.counts) + len(values) <= MAX_TRACKED:
            self.counts.update(values)
        else:
            for value in values:
                self.add(value)


class StatsAccumulator:
    """Rows per split plus one _Numbers or _Strings per column; merges with others."""

    def __init__(self):
        self.rows: collections.Counter = collections.Counter()
        self.numbers: dict[str, _Numbers] = {}
        self.strings: dict[str, _Strings] = {}

    def add_batch(self, schema_columns, columns, splits: list[str]) -> None:
        """Adds rows given as typed columns (None = missing) with each row's split name."""
        self.rows.update(splits)
        for column, values in zip(schema_columns, columns):
            present = [v for v in values if v is not None]
            if not present:
                continue
            if column.type == "string":
                self.strings.setdefault(column.name, _Strings()).add_all(present)
            else:
                numbers = self.numbers.setdefault(column.name, _Numbers())
                numbers.buffer += present
                if len(numbers.buffer) >= _FLUSH:
                    numbers.fold()

    def merge(self, other: StatsAccumulator) -> StatsAccumulator:
        """Adds `other` into this accumulator; returns it."""
        self.rows.update(other.rows)
        for name, numbers in other.numbers.items():
            numbers.fold()
            into = self.numbers.setdefault(name, _Numbers())
            into.fold()
            if numbers.count:
                into.merge(numbers.count, numbers.mean, numbers.m2)
                into.low = numbers.low if into.low is None else min(into.low, numbers.low)
                into.high = numbers.high if into.high is None else max(into.high, numbers.high)
        for name, strings in other.strings.items():
            into = self.strings.setdefault(name, _Strings())
            for value, n in strings.counts.items():
                into.add(value, n)
            into.other += strings.other
        return self

    def compact(self) -> StatsAccumulator:
        for numbers in self.numbers.values():
            numbers.fold()
        return self


def finish(
    acc: StatsAccumulator, schema: dict, dead_letter: int, splits: list[str]
) -> dict[str, Any]:
    """The stats.json document for `schema` (a Schema.to_dict()) from the combined accumulator."""
    rows = sum(acc.rows.values())
    columns = {}
    for column in schema["columns"]:
        name, type_ = column["name"], column["type"]
        if type_ == "string":
            strings = acc.strings.get(name, _Strings())
            count = sum(strings.counts.values()) + strings.other
            ranked = sorted(strings.counts.items(), key=lambda kv: (-kv[1], kv[0]))
            entry = {
                "type": type_,
                "count": count,
                "missing": rows - count,
                "unique": len(strings.counts) if not strings.other else None,
                "vocabulary": dict(ranked[:VOCABULARY_CAP]),
                "vocabulary_truncated": len(ranked) > VOCABULARY_CAP or bool(strings.other),
            }
        else:
            numbers = acc.numbers.get(name, _Numbers())
            numbers.fold()
            count = numbers.count
            entry = {"type": type_, "count": count, "missing": rows - count}
            if count:
                entry.update(
                    min=numbers.low,
                    max=numbers.high,
                    mean=numbers.mean,
                    std=math.sqrt(max(numbers.m2, 0.0) / count),
                )
        columns[name] = entry
    num_rows = {"input": rows + dead_letter, **{split: acc.rows[split] for split in splits}}
    num_rows["dead_letter"] = dead_letter
    return {"version": 1, "label": schema.get("label"), "num_rows": num_rows, "columns": columns}
