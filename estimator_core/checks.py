"""Argument checks shared by the engine and the steps; errors name the argument and the value."""

from __future__ import annotations


def positive_int(name: str, value, *, optional: bool = False) -> None:
    """Raises ValueError unless `value` is an int > 0 (or None, when `optional`); bools are not ints."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
