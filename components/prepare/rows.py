"""One raw record to named fields and typed values: the rules shared by inference and validation."""

from __future__ import annotations

import csv
import json
import math
import re
from typing import Any

from components.schema import Schema, parse_value

MISSING_TEXT = frozenset({"", "NA"})
# tf.train.Example holds int64: larger integers are bad values, not silently wrapped.
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
# The inference rule: a column is numeric when at least this share of its non-empty values
# are numbers (int64 integers or finite floats); the other rows become dead letters.
NUMERIC_PERCENT = 95
RULE = f"inferred: >= {NUMERIC_PERCENT}% of the column's values are numbers"
# A number written with a leading zero ("007", "-01", "00.5"; not "0", "0.5" or "0e3") is a
# code: as a number, 007 and 7 would be one value. Such a column stays a string column.
_PADDED = re.compile(r"\s*[+-]?0[0-9_]")
# A quick first look for one after a comma in a joined column (a superset: is_padded decides).
PADDED_AFTER_COMMA = re.compile(r",[\s+-]*0[0-9_]")


class BadRow(ValueError):
    """A record that cannot become an example; the message is the dead-letter reason.

    `kind` is the reason without the row's own values ("missing label 'y'", "column 'x':
    not a float"): what run summaries count.
    """

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        self.kind = kind or message


def split_fields(fmt: str, header: tuple[str, ...], text: str) -> dict[str, Any]:
    """Named raw fields of one record: text for CSV, JSON values for JSON Lines.

    Raises:
        BadRow: wrong field count, or a line that is not a JSON object.
    """
    if fmt == "csv":
        values = text.split(",") if '"' not in text else next(csv.reader([text]), [])
        if len(values) != len(header):
            raise field_count_error(len(header), len(values))
        return dict(zip(header, values))
    try:
        row = json.loads(text)
    except json.JSONDecodeError as e:
        raise BadRow(f"not valid JSON: {e}", "not valid JSON") from None
    if not isinstance(row, dict):
        raise BadRow(f"expected a JSON object, got {type(row).__name__}", "not a JSON object")
    return row


def field_count_error(expected: int, got: int) -> BadRow:
    return BadRow(
        f"expected {expected} fields, got {got}", f"wrong number of fields (expected {expected})"
    )


def value_error(name: str, type_: str, error: Exception, inferred: bool) -> BadRow:
    """The BadRow of a value of column `name` that is not a `type_`."""
    rule = f" ({RULE})" if inferred and type_ != "string" else ""
    article = "an" if type_ == "int" else "a"
    return BadRow(
        f"column {name!r} ({type_}): {error}{rule}", f"column {name!r}: not {article} {type_}{rule}"
    )


def number_kind(text: str) -> str:
    """'int', 'float' or 'other' for the text of one present CSV value, by the inference rule.

    Integers outside int64 are 'other' (long IDs stay strings); so are nan, inf and overflows.
    """
    try:
        value = int(text)
    except ValueError:
        pass
    else:
        return "int" if INT64_MIN <= value <= INT64_MAX else "other"
    try:
        return "float" if math.isfinite(float(text)) else "other"
    except ValueError:
        return "other"


def is_padded(text: str) -> bool:
    """Whether a number's text starts with a zero followed by a digit, e.g. '007'."""
    return _PADDED.match(text) is not None


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
    With `inferred`, a bad value's reason names the inference rule.
    """

    def __init__(self, schema: Schema, *, inferred: bool = False):
        self._schema = schema
        self._inferred = inferred
        self._plan = [
            (c.name, TEXT_CONVERTERS[c.type], c.name == schema.label, c.type)
            for c in schema.columns
        ]

    def __call__(self, fmt: str, header: tuple[str, ...], text: str) -> dict[str, Any]:
        if fmt != "csv" or '"' in text or tuple(header) != tuple(self._schema.names):
            return typed_row(split_fields(fmt, header, text), self._schema, self._inferred)
        fields = text.split(",")
        if len(fields) != len(self._plan):
            raise field_count_error(len(self._plan), len(fields))
        values = {}
        for (name, parse, is_label, type_), raw in zip(self._plan, fields):
            if raw in MISSING_TEXT or raw.strip() in MISSING_TEXT:
                if is_label:
                    raise BadRow(f"missing label {name!r}")
                continue
            try:
                values[name] = parse(raw) if type_ == "string" else parse(raw.strip())
            except ValueError as e:
                raise value_error(name, type_, e, self._inferred) from None
        return values


def typed_row(
    fields: dict[str, Any], schema: Schema, inferred: bool = False
) -> dict[str, int | float | str]:
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
            raise value_error(column.name, column.type, e, inferred) from None
    if len(fields) > len(values):
        unexpected = sorted(set(fields) - set(schema.names))
        if unexpected:
            raise BadRow(f"unexpected fields {unexpected} (not in the schema)", "unexpected fields")
    return values
