"""One raw record to named fields and typed values: the rules shared by inference and validation."""

from __future__ import annotations

import csv
import json
import math
from typing import Any

from components.schema import Schema, parse_value

MISSING_TEXT = frozenset({"", "NA"})
# tf.train.Example holds int64: larger integers are bad values, not silently wrapped.
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
# Rank of each type; inference widens to the larger rank (int < float < string).
RANK = {"int": 1, "float": 2, "string": 3}
TYPE_OF_RANK = {rank: name for name, rank in RANK.items()}


class BadRow(ValueError):
    """A record that cannot become an example; the message is the dead-letter reason."""


def split_fields(fmt: str, header: tuple[str, ...], text: str) -> dict[str, Any]:
    """Named raw fields of one record: text for CSV, JSON values for JSON Lines.

    Raises:
        BadRow: wrong field count, or a line that is not a JSON object.
    """
    if fmt == "csv":
        values = text.split(",") if '"' not in text else next(csv.reader([text]), [])
        if len(values) != len(header):
            raise BadRow(f"expected {len(header)} fields, got {len(values)}")
        return dict(zip(header, values))
    try:
        row = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadRow(f"not valid JSON: {e}") from None
    if not isinstance(row, dict):
        raise BadRow(f"expected a JSON object, got {type(row).__name__}")
    return row


def is_missing(raw: Any) -> bool:
    """Missing: None/absent (JSON) or '' / 'NA' (CSV)."""
    return raw is None or (isinstance(raw, str) and raw.strip() in MISSING_TEXT)


def convert(raw: Any, type_: str) -> int | float | str:
    """Typed value of a present raw field; text is parsed, JSON numbers are checked.

    Raises:
        ValueError: the value does not fit `type_`.
    """
    if isinstance(raw, str):
        return parse_value(raw.strip() if type_ != "string" else raw, type_)
    if isinstance(raw, bool):
        if type_ == "string":
            return json.dumps(raw)
        raise ValueError(f"boolean {raw!r} is not {type_}")
    if isinstance(raw, int):
        if type_ == "int":
            return raw
        return float(raw) if type_ == "float" else str(raw)
    if isinstance(raw, float):
        if type_ == "string":
            return repr(raw)
        if type_ == "float" and math.isfinite(raw):
            return raw
        raise ValueError(f"{raw!r} is not {'a finite float' if type_ == 'float' else type_}")
    if type_ == "string":
        return json.dumps(raw, sort_keys=True)
    raise ValueError(f"{type(raw).__name__} {json.dumps(raw)[:80]} is not {type_}")


def narrowest_type(raw: Any, at_least: int = 0) -> int:
    """Rank of the narrowest type `raw` converts to, not below rank `at_least`."""
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        return RANK["string"]
    for rank in (RANK["int"], RANK["float"]):
        if rank < at_least:
            continue
        if rank == RANK["int"] and (
            isinstance(raw, float)
            or (isinstance(raw, str) and not raw.strip().lstrip("+-").isdigit())
        ):
            continue  # a JSON 3.0 is a float; most non-integer text skips an exception
        try:
            convert(raw, TYPE_OF_RANK[rank])
            return rank
        except ValueError:
            continue
    return RANK["string"]


def _int64(text: str) -> int:
    return check_int64(int(text))


def check_int64(value: int) -> int:
    """`value` if it fits an int64; raises ValueError naming it otherwise."""
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{value} is outside the int64 range")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"non-finite float {text!r}")
    return value


# Text of a present CSV value -> typed value (ValueError if it does not fit the type).
TEXT_CONVERTERS = {"int": _int64, "float": _finite_float, "string": str}


class RowParser:
    """`typed_row` for one schema, with a fast path for plain CSV text (no quotes).

    Same rules as split_fields + typed_row; the per-column converters are looked up once.
    """

    def __init__(self, schema: Schema):
        self._schema = schema
        self._plan = [
            (c.name, TEXT_CONVERTERS[c.type], c.name == schema.label, c.type)
            for c in schema.columns
        ]

    def __call__(self, fmt: str, header: tuple[str, ...], text: str) -> dict[str, Any]:
        if fmt != "csv" or '"' in text or tuple(header) != tuple(self._schema.names):
            return typed_row(split_fields(fmt, header, text), self._schema)
        fields = text.split(",")
        if len(fields) != len(self._plan):
            raise BadRow(f"expected {len(self._plan)} fields, got {len(fields)}")
        values = {}
        for (name, parse, is_label, type_), raw in zip(self._plan, fields):
            if raw in MISSING_TEXT or raw.strip() in MISSING_TEXT:
                if is_label:
                    raise BadRow(f"missing label {name!r}")
                continue
            try:
                values[name] = parse(raw) if type_ == "string" else parse(raw.strip())
            except ValueError as e:
                raise BadRow(f"column {name!r} ({type_}): {e}") from None
        return values


def column_rank(texts: list[str], at_least: int) -> int:
    """`narrowest_type` over many present CSV texts at once (list comprehensions, few raises)."""
    if at_least <= RANK["int"]:
        try:
            [int(t) for t in texts]
            return RANK["int"]
        except ValueError:
            pass
    if at_least <= RANK["float"]:
        try:
            [_finite_float(t) for t in texts]
            return RANK["float"]
        except ValueError:
            pass
    return RANK["string"]


def typed_row(fields: dict[str, Any], schema: Schema) -> dict[str, int | float | str]:
    """Present values of `fields` converted by `schema`; missing features are left out.

    Raises:
        BadRow: a missing label, an unexpected field, or a value not parsing as its type.
    """
    values = {}
    for column in schema.columns:
        raw = fields.get(column.name)
        if is_missing(raw):
            if column.name == schema.label:
                raise BadRow(f"missing label {column.name!r}")
            continue
        try:
            value = convert(raw, column.type)
            values[column.name] = check_int64(value) if column.type == "int" else value
        except ValueError as e:
            raise BadRow(f"column {column.name!r} ({column.type}): {e}") from None
    if len(fields) > len(values):
        unexpected = sorted(set(fields) - set(schema.names))
        if unexpected:
            raise BadRow(f"unexpected fields {unexpected} (not in the schema)")
    return values
