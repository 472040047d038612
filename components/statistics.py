"""stats.json's statistics, shared by prepare (which writes them) and tfx_data (TFX examples).

Per split and column: counts, numeric moments and histograms, capped string vocabularies;
mergeable, so chunks are counted where they are read.

Histograms have HISTOGRAM_BUCKETS equal-width buckets from min to max (TFDV's "standard"
histogram), counted like numpy.histogram. A column with at most EXACT_VALUES distinct values
(years, counts, codes, rounded prices) keeps each value's count, so its histogram is exact.
Beyond that its values are counted in fine buckets (the float64 bits without the low 40: a
1/4096 slice of a power of two), which merge exactly; a fine bucket counts in the histogram
bucket of its middle, so only values within 0.025% of their magnitude from a bucket edge can
land in the bucket beside it.
"""

from __future__ import annotations

import collections
import math
import operator
from collections.abc import Mapping
from typing import Any

import numpy as np

VOCABULARY_CAP = 1000
# Distinct strings tracked exactly per column; beyond this new values are counted as "other".
MAX_TRACKED = 100_000
HISTOGRAM_BUCKETS = 10
EXACT_VALUES = 10_000
_FINE_SHIFT = np.uint64(40)
_FINE_MIDDLE = np.uint64(1 << 39)
_FLUSH = 4096
# Buffered values are counted (one numpy sort) once this many are pending.
_PENDING = 1 << 16


def _count(keys: np.ndarray, counts: np.ndarray | None = None):
    """(sorted distinct keys, their counts) of `keys` (each weighted by `counts`)."""
    distinct, inverse = np.unique(keys, return_inverse=True)
    if counts is None:
        return distinct, np.bincount(inverse, minlength=len(distinct)).astype(np.int64)
    return distinct, np.bincount(inverse, counts, len(distinct)).astype(np.int64)


def _fine(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float64).view(np.uint64) >> _FINE_SHIFT


class _Histogram:
    """Counts of each distinct value, or (beyond EXACT_VALUES of them) of each fine bucket, as
    sorted numpy arrays; values are counted a large batch at a time."""

    __slots__ = ("keys", "counts", "exact", "pending")

    def __init__(self):
        self.keys = np.empty(0, np.float64)
        self.counts = np.empty(0, np.int64)
        self.exact = True
        self.pending: list[np.ndarray] = []

    def add(self, values: np.ndarray) -> None:
        self.pending.append(values)
        if sum(map(len, self.pending)) >= _PENDING:
            self.settle()

    def settle(self) -> None:
        if not self.pending:
            return
        values = np.concatenate(self.pending)
        self.pending = []
        keys, counts = _count(values if self.exact else _fine(values))
        self._merge(keys, counts)

    def _merge(self, keys: np.ndarray, counts: np.ndarray) -> None:
        self.keys, self.counts = _count(np.concatenate([self.keys, keys]),
                                        np.concatenate([self.counts, counts]))  # fmt: skip
        if self.exact and len(self.keys) > EXACT_VALUES:
            self.to_fine()

    def to_fine(self) -> None:
        if self.exact:
            self.exact = False
            self.keys, self.counts = _count(_fine(self.keys), self.counts)

    def merge_from(self, other: _Histogram) -> None:
        self.settle()
        other.settle()
        if not other.exact:
            self.to_fine()
        keys = other.keys if self.exact or not other.exact else _fine(other.keys)
        if not self.exact and other.exact:
            keys, counts = _count(keys, other.counts)
        else:
            counts = other.counts
        self._merge(keys, counts)

    def points(self) -> np.ndarray:
        """A value inside each counted key: itself, or the middle of the fine bucket."""
        self.settle()
        if self.exact:
            return self.keys
        return ((self.keys.astype(np.uint64) << _FINE_SHIFT) | _FINE_MIDDLE).view(np.float64)


class _Numbers:
    """count/mean/M2/min/max/zeros and a _Histogram, with values buffered and folded in with
    numpy a few thousand at a time."""

    __slots__ = ("count", "mean", "m2", "low", "high", "zeros", "values", "buffer")

    def __init__(self):
        self.count, self.mean, self.m2, self.zeros = 0, 0.0, 0.0, 0
        self.low = self.high = None
        self.values = _Histogram()
        self.buffer: list = []

    def fold(self):
        if not self.buffer:
            return
        values, self.buffer = self.buffer, []
        if isinstance(values[0], int):  # an int column: min and max stay exact int64
            exact = np.asarray(values, dtype=np.int64)
            low, high = int(exact.min()), int(exact.max())
            array = exact.astype(np.float64)
        else:
            array = np.asarray(values, dtype=np.float64)
            low, high = float(array.min()), float(array.max())
        self.low = low if self.low is None else min(self.low, low)
        self.high = high if self.high is None else max(self.high, high)
        mean = float(array.sum()) / len(array)  # numpy sums pairwise: error ~ log2(n) ulps
        deviations = array - mean
        self.merge(len(array), mean, float(deviations @ deviations))
        self.zeros += int(np.count_nonzero(array == 0))
        self.values.add(array)

    def merge(self, n: int, mean: float, m2: float):
        # Chan et al.'s pairwise update: exact enough to merge any number of partial results.
        total = self.count + n
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total

    def merge_from(self, other: _Numbers):
        other.fold()
        self.fold()
        if not other.count:
            return
        self.merge(other.count, other.mean, other.m2)
        self.low = other.low if self.low is None else min(self.low, other.low)
        self.high = other.high if self.high is None else max(self.high, other.high)
        self.zeros += other.zeros
        self.values.merge_from(other.values)

    def compact(self):
        self.fold()
        self.values.settle()

    def histogram(self) -> list[dict]:
        """[{"low", "high", "count"}] of HISTOGRAM_BUCKETS equal-width buckets (one if min == max)."""
        self.compact()
        if not self.count:
            return []
        low, high = float(self.low), float(self.high)
        if low == high:
            return [{"low": low, "high": high, "count": self.count}]
        width = (high - low) / HISTOGRAM_BUCKETS
        edges = [low + i * width for i in range(HISTOGRAM_BUCKETS)] + [high]
        # numpy.histogram's rule: [edge, next edge), the last bucket closed.
        index = np.searchsorted(np.array(edges), self.values.points(), side="right") - 1
        index = np.clip(index, 0, HISTOGRAM_BUCKETS - 1)
        counts = np.bincount(index, self.values.counts, HISTOGRAM_BUCKETS).astype(np.int64)
        return [
            {"low": edges[i], "high": edges[i + 1], "count": int(counts[i])}
            for i in range(HISTOGRAM_BUCKETS)
        ]


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

    def add_all(self, values):
        if len(self.counts) + len(values) <= MAX_TRACKED:
            self.counts.update(values)
        else:
            for value in values:
                self.add(value)

    def merge_from(self, other: _Strings):
        for value, n in other.counts.items():
            self.add(value, n)
        self.other += other.other


class _Columns:
    """One _Numbers or _Strings per column name."""

    def __init__(self):
        self.numbers: dict[str, _Numbers] = {}
        self.strings: dict[str, _Strings] = {}

    def add(self, schema_columns, columns) -> None:
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

    def merge_from(self, other: _Columns) -> None:
        for name, numbers in other.numbers.items():
            self.numbers.setdefault(name, _Numbers()).merge_from(numbers)
        for name, strings in other.strings.items():
            self.strings.setdefault(name, _Strings()).merge_from(strings)

    def compact(self) -> None:
        for numbers in self.numbers.values():
            numbers.compact()


class StatsAccumulator:
    """Rows per split plus, per split, one _Numbers or _Strings per column; merges with others."""

    def __init__(self):
        self.rows: collections.Counter = collections.Counter()
        self.splits: dict[str, _Columns] = {}

    def add_batch(self, schema_columns, columns, splits: list[str]) -> None:
        """Adds rows given as typed columns (None = missing) with each row's split name."""
        self.rows.update(splits)
        names = set(splits)
        if len(names) == 1:
            self.splits.setdefault(splits[0], _Columns()).add(schema_columns, columns)
            return
        for name in sorted(names):
            rows = [i for i, split in enumerate(splits) if split == name]
            pick = operator.itemgetter(*rows)
            picked = (
                [pick(c) for c in columns] if len(rows) > 1 else [[c[rows[0]]] for c in columns]
            )
            self.splits.setdefault(name, _Columns()).add(schema_columns, picked)

    def merge(self, other: StatsAccumulator) -> StatsAccumulator:
        """Adds `other` into this accumulator; returns it."""
        self.rows.update(other.rows)
        for name, columns in other.splits.items():
            self.splits.setdefault(name, _Columns()).merge_from(columns)
        return self

    def compact(self) -> StatsAccumulator:
        for columns in self.splits.values():
            columns.compact()
        return self

    def combined(self) -> _Columns:
        """Every split's columns merged."""
        total = _Columns()
        for name in sorted(self.splits):
            total.merge_from(self.splits[name])
        return total


def column_stats(columns: _Columns, schema: dict, rows: int) -> dict[str, dict]:
    """{name: stats.json column entry} of `columns` over `rows` rows, for Schema.to_dict() `schema`."""
    entries = {}
    for column in schema["columns"]:
        name, type_ = column["name"], column["type"]
        if type_ == "string":
            strings = columns.strings.get(name, _Strings())
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
            if count and not strings.other:
                lengths = sum(len(value) * n for value, n in strings.counts.items())
                entry["avg_length"] = lengths / count
        else:
            numbers = columns.numbers.get(name, _Numbers())
            numbers.fold()
            count = numbers.count
            entry = {"type": type_, "count": count, "missing": rows - count}
            if count:
                entry.update(
                    min=numbers.low,
                    max=numbers.high,
                    mean=numbers.mean,
                    std=math.sqrt(max(numbers.m2, 0.0) / count),
                    zeros=numbers.zeros,
                    histogram=numbers.histogram(),
                )
        entries[name] = entry
    return entries


def finish(
    acc: StatsAccumulator,
    schema: dict,
    dead_letter: int,
    splits: list[str],
    *,
    reasons: Mapping[str, int] | None = None,
    mixed: Mapping[str, dict] | None = None,
) -> dict[str, Any]:
    """The stats.json document for `schema` (a Schema.to_dict()) from the combined accumulator.

    `reasons` ({kind: count}) become "dead_letter_reasons", most frequent first; `mixed`
    (infer.Tallies.mixed()) "mixed_columns".
    """
    rows = sum(acc.rows.values())
    num_rows = {"input": rows + dead_letter, **{split: acc.rows[split] for split in splits}}
    num_rows["dead_letter"] = dead_letter
    ranked_reasons = sorted((reasons or {}).items(), key=lambda kv: (-kv[1], kv[0]))
    return {
        "version": 1,
        "label": schema.get("label"),
        "num_rows": num_rows,
        "dead_letter_reasons": dict(ranked_reasons),
        "mixed_columns": dict(mixed or {}),
        "columns": column_stats(acc.combined(), schema, rows),
    }


def split_stats(acc: StatsAccumulator, schema: dict, splits: list[str]) -> dict[str, dict]:
    """{split: {"num_rows", "columns"}}: the stats.json entries of each split alone."""
    return {
        split: {
            "num_rows": acc.rows[split],
            "columns": column_stats(acc.splits.get(split, _Columns()), schema, acc.rows[split]),
        }
        for split in splits
    }
