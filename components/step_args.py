"""A step's parameters defined once: dataclass fields with help, and their CLI and KFP views.

Each step declares a frozen dataclass (`components/<step>/args.py`) whose fields are made with
`param`: a default, a `help` text, and optionally the CLI flag name and the value that stands
for None where KFP has no None. The CLI adds one flag per field with `add_flags` and builds the
dataclass back with `from_namespace`; a KFP component passes its parameters through
`from_kfp`. Validation lives only in the dataclass's `__post_init__`; its `ArgsError` names the
field, which the CLI turns into the flag's name. No TensorFlow here: CLIs import it at start-up.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from components.cli import UsageError
from estimator_core import checks

MISSING = dataclasses.MISSING


class ArgsError(ValueError):
    """A parameter value a step refuses: "<field> <message>", e.g. "seed must be an int"."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field} {message}")
        self.field = field
        self.message = message


def param(
    default: Any = MISSING,
    *,
    help: str,  # noqa: A002 (argparse's name for it)
    flag: str | None = None,
    kfp_none: Any = None,
    default_factory: Callable[[], Any] | Any = MISSING,
) -> Any:
    """A dataclass field of a step's parameters.

    Args:
        default: the default (MISSING: required).
        help: one line for `--help`, the docs and the KFP face.
        flag: the CLI flag when it is not `--<name-with-dashes>`.
        kfp_none: the KFP value that means None (KFP parameters cannot be None), e.g. "" or -1.
        default_factory: for mutable defaults.
    """
    metadata = {"help": help, "flag": flag, "kfp_none": kfp_none}
    if default_factory is not MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def flag_of(field: dataclasses.Field) -> str:
    return field.metadata.get("flag") or "--" + field.name.replace("_", "-")


def default_of(field: dataclasses.Field) -> Any:
    if field.default is not MISSING:
        return field.default
    if field.default_factory is not MISSING:
        return field.default_factory()
    return MISSING


def add_flags(
    parser: argparse.ArgumentParser,
    cls,
    options: Mapping[str, Mapping[str, Any]],
    *,
    skip: Mapping[str, str] = {},  # noqa: B006 (never mutated)
) -> None:
    """Adds one flag per field of `cls`: help, default and dest from the field.

    Args:
        parser: the step's subparser.
        cls: the step's args dataclass.
        options: per field, argparse options of the CLI's own (type, action, choices,
            metavar); every field not in `skip` must have an entry (it may be empty).
        skip: fields the CLI does not expose, each with the reason.

    Raises:
        ValueError: a field with neither options nor a reason to skip it, or options or a
            skip naming no field (a programming error, found by the tests).
    """
    by_name = fields(cls)
    unknown = sorted((set(options) | set(skip)) - set(by_name))
    missing = sorted(set(by_name) - set(options) - set(skip))
    if unknown or missing:
        raise ValueError(
            f"{cls.__name__} flags: unknown {unknown}, neither added nor skipped {missing}"
        )
    for name, field in by_name.items():
        if name in skip:
            continue
        kwargs = dict(options[name])
        default = default_of(field)
        if default is MISSING:
            kwargs["required"] = True
        elif kwargs.get("action") == "append":
            kwargs["default"] = []
        else:
            kwargs["default"] = default
        hidden = default is MISSING or default is None or default is False or default in ((), {})
        shown = "" if hidden else f" (default: {default})"
        kwargs["help"] = field.metadata["help"].replace("%", "%%") + shown
        parser.add_argument(flag_of(field), dest=name, **kwargs)


def from_namespace(cls, namespace: argparse.Namespace, command: str, **values: Any):
    """The args dataclass from parsed flags (plus `values` the CLI converted itself).

    Raises:
        UsageError: the dataclass refused a value; the message names the flag.
    """
    by_name = fields(cls)
    given = {name: getattr(namespace, name) for name in by_name if hasattr(namespace, name)}
    given.update(values)
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
    try:
        return cls(**given)
    except ArgsError as e:
        raise UsageError(f"{command}: {flag_of(by_name[e.field])}: {e.message}") from None


def from_kfp(cls, parameters: Mapping[str, Any]):
    """The args dataclass from a KFP component's parameters (the ones that are fields).

    A field's `kfp_none` value becomes None; lists become tuples.
    """
    values = {}
    for name, field in fields(cls).items():
        if name not in parameters:
            continue
        value = parameters[name]
        none = field.metadata.get("kfp_none")
        if none is not None and not isinstance(value, bool) and value == none:
            value = None
        values[name] = tuple(value) if isinstance(value, list) else value
    return cls(**values)


def positive_int(name: str, value: Any, *, optional: bool = False) -> None:
    """ArgsError unless `value` is an int > 0, NumPy integers too (or None when `optional`)."""
    try:
        checks.positive_int(name, value, optional=optional)
    except ValueError:
        raise ArgsError(name, f"must be a positive int, got {value!r}") from None


def positive_number(name: str, value: Any, *, optional: bool = False) -> None:
    """ArgsError unless `value` is a finite number > 0 (or None when `optional`)."""
    if value is None and optional:
        return
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value < float("inf")
    ):
        raise ArgsError(name, f"must be a number > 0, got {value!r}")


def text_or_none(name: str, value: Any) -> None:
    """ArgsError unless `value` is None or a non-blank string."""
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ArgsError(name, f"must be a non-empty string or None, got {value!r}")


def to_dict(args) -> dict[str, Any]:
    """The parameters as plain JSON-able values (tuples as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(args).items()}


def replace(args, **changes: Any):
    """A copy of `args` with `changes` (validated again)."""
    return dataclasses.replace(args, **changes)
