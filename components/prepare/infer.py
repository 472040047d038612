"""Schema inference: the narrowest type per column (int < float < string) over rows seen.

`Ranks` is the running result. `prepare` starts it from a sample of each file's head, then
every row of the main pass widens it further; the schema is the one over every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from components.prepare import rows as rows_lib
from components.schema import Column, Schema

STRING = rows_lib.RANK["string"]


class Ranks:
    """Column name -> rank (0: no value seen yet, 1 int, 2 float, 3 string), in first-seen order."""

    def __init__(self, ranks: dict[str, int] | None = None):
        self.ranks: dict[str, int] = dict(ranks or {})

    def add_names(self, names: Iterable[str]) -> None:
        for name in names:
            self.ranks.setdefault(name, 0)

    def add_texts(self, name: str, texts: Sequence[str]) -> None:
        """Widens `name` by CSV texts (missing ones are skipped)."""
        rank = self.ranks.setdefault(name, 0)
        if rank < STRING:
            present = [t for t in texts if not rows_lib.is_missing(t)]
            if present:
                self.ranks[name] = max(rank, rows_lib.column_rank(present, rank))

    def add_csv(self, header: Sequence[str], texts: Sequence[str]) -> None:
        """Widens by every well-formed CSV record; wrong field counts are left to validation."""
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
        """Widens by parsed JSON objects: a JSON string makes a string column (e.g. zip codes)."""
        ranks = self.ranks
        for fields in rows:
            for name, raw in fields.items():
                rank = ranks.get(name, 0)
                if rank == STRING or rows_lib.is_missing(raw):
                    ranks.setdefault(name, 0)
                elif isinstance(raw, str):
                    ranks[name] = STRING
                else:
                    ranks[name] = max(rank, rows_lib.narrowest_type(raw, rank))

    def add_json_texts(self, header: Sequence[str], texts: Sequence[str]) -> None:
        """Widens by every JSON Lines record that is an object."""
        parsed = []
        for text in texts:
            try:
                parsed.append(rows_lib.split_fields("jsonl", tuple(header), text))
            except rows_lib.BadRow:
                continue
        self.add_names(header)
        self.add_json(parsed)

    def merge(self, other: Ranks) -> None:
        for name, rank in other.ranks.items():
            self.ranks[name] = max(self.ranks.get(name, 0), rank)

    def schema(self, column_order: Sequence[str], label: str | None, *, provisional=False):
        """The Schema: columns in `column_order`, then any other names sorted.

        A column with no value is a string column. A label never seen is an error, unless
        `provisional` (a sample may miss a JSON key), which adds it as a string column.

        Raises:
            ValueError: the label is not a column of the data.
        """
        ranks = dict(self.ranks)
        if label is not None and label not in ranks:
            if not provisional:
                names = self.schema(column_order, None).names
                raise ValueError(f"label column {label!r} is not in the data (columns: {names})")
            ranks[label] = 0
        order = [n for n in column_order if n in ranks]
        names = order + sorted(set(ranks) - set(order))
        columns = tuple(Column(n, rows_lib.TYPE_OF_RANK.get(ranks[n], "string")) for n in names)
        return Schema(columns=columns, label=label)
