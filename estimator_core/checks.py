"""Argument checks shared by the engine and the steps; errors name the argument and the value.

No TensorFlow here: the steps check their arguments with these before TensorFlow starts.
"""

from __future__ import annotations

import math
import numbers
import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smhd])\s*$")
_UNIT_SECS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def positive_int(name: str, value, *, optional: bool = False) -> int | None:
    """`value` as a Python int if it is an integer > 0, NumPy integers included (as the
    original took them); None if it is None and `optional`. Bools are not ints.

    Raises:
        ValueError: naming `name`, the value and the rule.
    """
    return _int_at_least(name, value, 1, "a positive int", optional)


def non_negative_int(name: str, value, *, optional: bool = False) -> int | None:
    """As positive_int, for an integer >= 0."""
    return _int_at_least(name, value, 0, "an int >= 0", optional)


def _int_at_least(name: str, value, minimum: int, rule: str, optional: bool) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be {rule}{' or None' if optional else ''}, got {value!r}")
    return int(value)


def duration_secs(name: str, text: str) -> float:
    """A duration ('90s', '15m', '6h', '1.5d') in seconds: positive and finite.

    Raises:
        ValueError: naming `name` and the text.
    """
    match = _DURATION.match(text) if isinstance(text, str) else None
    seconds = float(match.group(1)) * _UNIT_SECS[match.group(2)] if match else 0.0
    if not 0 < seconds < math.inf:
        raise ValueError(
            f"{name} {text!r} must be a positive duration: a number and a unit s, m, h or d, "
            "like '90s', '15m', '6h', '1d'"
        )
    return seconds
