"""Split specs ("train=0.8,eval=0.2") and the stable hash that assigns a row to a split."""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from collections.abc import Mapping

DEFAULT_SPLITS = {"train": 0.8, "eval": 0.2}
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_TOLERANCE = 1e-6


def validate_splits(splits: Mapping[str, float]) -> dict[str, float]:
    """Checks names and fractions (positive, summing to 1); returns a plain ordered dict.

    Raises:
        ValueError: naming the bad split or the sum.
    """
    if not splits:
        raise ValueError("splits: at least one split is needed, e.g. train=0.8,eval=0.2")
    checked = {}
    for name, fraction in splits.items():
        if not _NAME.match(str(name)):
            raise ValueError(f"split name {name!r} must match {_NAME.pattern}")
        fraction = float(fraction)
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"split {name!r}: fraction {fraction} must be in (0, 1]")
        checked[str(name)] = fraction
    total = sum(checked.values())
    if abs(total - 1.0) > _TOLERANCE:
        raise ValueError(f"split fractions must sum to 1, got {total:g} ({checked})")
    return checked


def parse_splits(text: str) -> dict[str, float]:
    """Parses "train=0.8,eval=0.2" into {"train": 0.8, "eval": 0.2} (order kept).

    Raises:
        ValueError: naming the malformed item.
    """
    splits: dict[str, float] = {}
    for item in text.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep or not name.strip():
            raise ValueError(f"splits: {item.strip()!r} is not NAME=FRACTION (e.g. train=0.8)")
        try:
            fraction = float(value)
        except ValueError:
            raise ValueError(
                f"splits: fraction {value.strip()!r} of {name!r} is not a number"
            ) from None
        if name.strip() in splits:
            raise ValueError(f"splits: {name.strip()!r} given twice")
        splits[name.strip()] = fraction
    return validate_splits(splits)


def unit_hash(key: str) -> float:
    """A number in [0, 1) from SHA-256 of `key`: the same on every run, machine and runner."""
    return unit_hashes([key])[0]


def unit_hashes(keys: list[str]) -> list[float]:
    """`unit_hash` of each key."""
    sha256, from_bytes = hashlib.sha256, int.from_bytes
    return [from_bytes(sha256(k.encode("utf-8")).digest()[:8], "big") / 2.0**64 for k in keys]


class SplitAssigner:
    """Maps a key to a split name by cumulative fraction of its unit hash."""

    def __init__(self, splits: Mapping[str, float]):
        self.names = list(validate_splits(splits))
        bounds, total = [], 0.0
        for name in self.names:
            total += splits[name]
            bounds.append(total)
        bounds[-1] = math.inf  # absorb rounding (and a hash rounded up to 1.0): all land somewhere
        self._bounds = bounds

    def __call__(self, key: str) -> str:
        return self.assign_all([key])[0]

    def assign_all(self, keys: list[str]) -> list[str]:
        """The split name of each key."""
        names, bounds = self.names, self._bounds
        return [names[bisect.bisect_right(bounds, point)] for point in unit_hashes(keys)]
