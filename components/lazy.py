"""Lazy package exports: a step package names its API without importing TensorFlow or Beam."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def exports(package: str, names: dict[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` for `package`: each of `names` is imported from its module on
    first use and then kept on the package, so CLIs that only parse arguments stay fast."""

    def __getattr__(name: str) -> object:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(names[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
