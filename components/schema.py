"""The data schema shared by prepare, the input pipeline, the default model and serving."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

TYPES = ("int", "float", "string")


@dataclasses.dataclass(frozen=True)
class Column:
    """One column: its name and type ('int', 'float' or 'string')."""

    name: str
    type: str

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"column {self.name!r}: type {self.type!r} is not one of {TYPES}")


@dataclasses.dataclass(frozen=True)
class Schema:
    """Ordered columns plus the name of the label column (None for unlabeled data)."""

    columns: tuple[Column, ...]
    label: str | None = None

    def __post_init__(self):
        names = [c.name for c in self.columns]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"schema: duplicate column names {dupes}")
        if self.label is not None and self.label not in names:
            raise ValueError(f"schema: label {self.label!r} is not a column (columns: {names})")

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def features(self) -> tuple[Column, ...]:
        """Columns other than the label."""
        return tuple(c for c in self.columns if c.name != self.label)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"schema has no column {name!r} (columns: {self.names})")

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "label": self.label,
            "columns": [{"name": c.name, "type": c.type} for c in self.columns],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "schema") -> Schema:
        try:
            columns = tuple(Column(str(c["name"]), str(c["type"])) for c in data["columns"])
        except (KeyError, TypeError) as e:
            raise ValueError(
                f"{source}: expected {{'columns': [{{'name', 'type'}}...]}}: {e}"
            ) from e
        return cls(columns=columns, label=data.get("label"))

    def save(self, path: str) -> None:
        import tensorflow as tf

        with tf.io.gfile.GFile(path, "w") as f:
            f.write(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str) -> Schema:
        import tensorflow as tf

        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(f"schema file not found: {path}")
        with tf.io.gfile.GFile(path) as f:
            try:
                data = json.loads(f.read())
            except json.JSONDecodeError as e:
                raise ValueError(f"{path}: not valid JSON: {e}") from e
        return cls.from_dict(data, source=path)


def parse_value(text: str, type_: str) -> int | float | str:
    """Parses one raw field as `type_`; raises ValueError with the offending text."""
    if type_ == "int":
        return int(text)
    if type_ == "float":
        value = float(text)
        if math.isnan(value) or math.isinf(value):
            raise ValueError(f"non-finite float {text!r}")
        return value
    return text
