"""The evaluator's parameters, defined once for its library, CLI and KFP faces."""

from __future__ import annotations

import dataclasses
import math

from components.step_args import ArgsError, param, positive_int, text_or_none


@dataclasses.dataclass(frozen=True, kw_only=True)
class EvaluatorArgs:
    """What to evaluate and how to judge it.

    Example:
        EvaluatorArgs(thresholds=("accuracy>=0.9",), baseline_model_dir="out/model_prev")
    """

    checkpoint: str | None = param(
        None, help="the checkpoint to evaluate (default: the model's latest)", kfp_none=""
    )
    module_file: str | None = param(
        None, help="override the module recorded by the trainer", kfp_none=""
    )
    split: str = param("eval", help="the split to evaluate on")
    thresholds: tuple[str, ...] = param(
        (),
        help="METRIC OP NUMBER with OP one of >= <= > <, repeatable, e.g. 'accuracy>=0.9'",
        flag="--threshold",
    )
    baseline_model_dir: str | None = param(
        None, help="a model dir (path or URI) to compare against", kfp_none=""
    )
    compare_metric: str = param("accuracy", help="the metric compared with the baseline")
    tolerance: float = param(0.0, help="how much worse than the baseline is allowed")
    slice_by: tuple[str, ...] = param(
        (), help="a feature to compute metrics per value of, repeatable"
    )
    batch_size: int = param(64, help="evaluation batch size")

    def __post_init__(self):
        from components.blessing import Threshold

        for name in ("thresholds", "slice_by"):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, (tuple, list)):
                raise ArgsError(name, f"must be a sequence of strings, got {value!r}")
            object.__setattr__(self, name, tuple(value))
        for text in self.thresholds:
            if not isinstance(text, Threshold):
                try:
                    Threshold.parse(text)
                except ValueError as e:
                    raise ArgsError("thresholds", str(e)) from None
        for feature in self.slice_by:
            if not isinstance(feature, str) or not feature.strip():
                raise ArgsError("slice_by", f"must name features, got {feature!r}")
        for name in ("checkpoint", "module_file", "baseline_model_dir"):
            text_or_none(name, getattr(self, name))
        for name in ("split", "compare_metric"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise ArgsError(name, f"must not be empty, got {value!r}")
        tolerance = self.tolerance
        if (
            isinstance(tolerance, bool)
            or not isinstance(tolerance, (int, float))
            or not (0 <= tolerance < math.inf)
        ):
            raise ArgsError("tolerance", f"must be a number >= 0, got {tolerance!r}")
        positive_int("batch_size", self.batch_size)
