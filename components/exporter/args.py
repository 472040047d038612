"""The exporter's parameters, defined once for its library, CLI and KFP faces."""

from __future__ import annotations

import dataclasses

from components.step_args import ArgsError, param, text_or_none


@dataclasses.dataclass(frozen=True, kw_only=True)
class ExporterArgs:
    """Which checkpoint to export and whether a blessing is required.

    Example:
        ExporterArgs(force=True)
    """

    force: bool = param(False, help="export even if not blessed (recorded as forced)")
    checkpoint: str | None = param(
        None, help="the checkpoint to export (default: the evaluated one)", kfp_none=""
    )
    module_file: str | None = param(
        None,
        help="override the module recorded by the trainer (its serving_input_receiver_fn "
        "replaces the default signatures)",
        kfp_none="",
    )

    def __post_init__(self):
        if not isinstance(self.force, bool):
            raise ArgsError("force", f"must be a bool, got {self.force!r}")
        for name in ("checkpoint", "module_file"):
            text_or_none(name, getattr(self, name))
