"""The two kinds of migrate rule: a rename, and a name reported for a person to convert."""

from __future__ import annotations

import dataclasses

COMPAT_TPU = "estimator_core.compat.tpu"


@dataclasses.dataclass(frozen=True)
class Rename:
    target: str
    note: str = ""


@dataclasses.dataclass(frozen=True)
class Manual:
    """A name with no automatic conversion: why, and what to write instead."""

    reason: str
    fix: str
