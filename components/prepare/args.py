"""The prepare step's parameters, defined once for its library, CLI and KFP faces."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from components.prepare.splits import DEFAULT_SPLITS, parse_splits, validate_splits
from components.step_args import ArgsError, param, text_or_none

FORMATS = ("csv", "jsonl")
RUNNING_MODES = ("in_memory", "multi_threading", "multi_processing")
MAX_LINE_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True, kw_only=True)
class PrepareArgs:
    """How to read, check, split and write the examples.

    Example:
        PrepareArgs(label="species", splits="train=0.7,eval=0.3", split_key="island")
    """

    label: str | None = param(
        None, help="label column (rows missing it are rejected); None for unlabeled data",
        kfp_none="",
    )  # fmt: skip
    schema: Any = param(
        None, help="schema.json to use instead of inferring one (a path, or a Schema)",
        kfp_none="",
    )  # fmt: skip
    split_key: str | None = param(
        None, help="column whose value decides the split (default: the whole row)", kfp_none=""
    )
    splits: str | Mapping[str, float] = param(
        ",".join(f"{k}={v}" for k, v in DEFAULT_SPLITS.items()),
        help="split names and fractions, like train=0.8,eval=0.2",
    )
    max_bad_fraction: float = param(
        0.05, help="fail (after writing the dead letters) if more rows are rejected"
    )
    input_format: str | None = param(
        None, help="csv or jsonl, overriding the file extension", flag="--format", kfp_none=""
    )
    beam_options: tuple[str, ...] = param(
        (), help="a Beam pipeline flag passed through, repeatable, e.g. --runner=DataflowRunner",
        flag="--beam-option",
    )  # fmt: skip
    direct_num_workers: int = param(1, help="local Beam workers (0 = one per CPU)")
    direct_running_mode: str | None = param(
        None,
        help="in_memory, multi_threading or multi_processing (default: by input size)",
        kfp_none="",
    )
    overwrite: bool = param(False, help="replace a non-empty output directory")
    max_line_bytes: int = param(MAX_LINE_BYTES, help="a longer line makes its file malformed")

    def __post_init__(self):
        for name in ("label", "split_key"):
            text_or_none(name, getattr(self, name))
        if isinstance(self.schema, str):
            text_or_none("schema", self.schema)
        try:
            self.split_fractions  # noqa: B018 (parsing is the check)
        except ValueError as e:
            raise ArgsError("splits", str(e).removeprefix("splits: ")) from None
        bad = self.max_bad_fraction
        if isinstance(bad, bool) or not isinstance(bad, (int, float)) or not 0.0 <= bad <= 1.0:
            raise ArgsError("max_bad_fraction", f"must be in [0, 1], got {bad!r}")
        if self.input_format is not None and self.input_format not in FORMATS:
            raise ArgsError("input_format", f"{self.input_format!r} is not one of {FORMATS}")
        if self.direct_running_mode is not None and self.direct_running_mode not in RUNNING_MODES:
            raise ArgsError(
                "direct_running_mode", f"{self.direct_running_mode!r} is not one of {RUNNING_MODES}"
            )
        workers = self.direct_num_workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ArgsError("direct_num_workers", f"must be an int >= 0, got {workers!r}")
        lines = self.max_line_bytes
        if isinstance(lines, bool) or not isinstance(lines, int) or lines <= 0:
            raise ArgsError("max_line_bytes", f"must be a positive int, got {lines!r}")
        if isinstance(self.beam_options, str):
            raise ArgsError("beam_options", "must be a sequence of flags, not one string")
        object.__setattr__(self, "beam_options", tuple(self.beam_options))
        for flag in self.beam_options:
            if not isinstance(flag, str) or not flag.startswith("--") or len(flag) == 2:
                raise ArgsError("beam_options", f"{flag!r} is not a flag like --name=value")

    @property
    def split_fractions(self) -> dict[str, float]:
        """`splits` as {name: fraction} (validated)."""
        if isinstance(self.splits, str):
            return parse_splits(self.splits)
        return validate_splits(self.splits)
