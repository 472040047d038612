"""Blessing: thresholds and a baseline decide whether a model may be pushed; the files that say so.

The evaluator decides and writes blessing.json and the BLESSED / NOT_BLESSED marker; the
exporter reads them. TensorFlow (for gs:// and other filesystems) is imported only to read
or write.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import operator
import re
from collections.abc import Mapping, Sequence
from typing import Any

from components import artifacts, files

log = logging.getLogger(__name__)

_OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt}
_THRESHOLD = re.compile(r"^\s*([A-Za-z0-9_./\-]+?)\s*(>=|<=|>|<)\s*([-+0-9.eE]+|nan|inf)\s*$")
# Metrics where smaller is better; everything else (accuracy, auc, precision...) is higher-better.
_LOWER_IS_BETTER = re.compile(r"(loss|error|mse|mae|rmse)", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class Threshold:
    """`metric op value`, e.g. accuracy >= 0.9."""

    metric: str
    op: str
    value: float

    @classmethod
    def parse(cls, text: str) -> Threshold:
        """Parses "accuracy>=0.9"; ValueError naming the text and the expected form."""
        match = _THRESHOLD.match(text)
        if not match:
            raise ValueError(
                f"threshold {text!r}: expected METRIC OP NUMBER with OP one of "
                f"{', '.join(_OPS)}, e.g. 'accuracy>=0.9'"
            )
        value = float(match.group(3))
        if math.isnan(value):
            raise ValueError(f"threshold {text!r}: the bound must be a number")
        return cls(match.group(1), match.group(2), value)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"


def lower_is_better(metric: str) -> bool:
    return bool(_LOWER_IS_BETTER.search(metric))


@dataclasses.dataclass(frozen=True)
class Blessing:
    """The decision and every check that led to it."""

    blessed: bool
    reason: str
    checks: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"blessed": self.blessed, "reason": self.reason, "checks": list(self.checks)}


def _threshold_check(threshold: Threshold, metrics: Mapping[str, float]) -> dict[str, Any]:
    check = {"kind": "threshold", "metric": threshold.metric, "rule": str(threshold)}
    if threshold.metric not in metrics:
        return {
            **check,
            "passed": False,
            "value": None,
            "why": f"metric {threshold.metric!r} not computed (have: {sorted(metrics)})",
        }
    value = float(metrics[threshold.metric])
    passed = not math.isnan(value) and _OPS[threshold.op](value, threshold.value)
    verdict = "holds" if passed else "fails"
    return {
        **check,
        "passed": passed,
        "value": value,
        "why": f"{threshold.metric} = {value:.6g}: {threshold} {verdict}",
    }


def _baseline_check(
    metric: str, candidate: Mapping[str, float], baseline: Mapping[str, float], tolerance: float
) -> dict[str, Any]:
    check = {"kind": "baseline", "metric": metric, "tolerance": tolerance}
    missing = [
        name for name, m in (("candidate", candidate), ("baseline", baseline)) if metric not in m
    ]
    if missing:
        return {
            **check,
            "passed": False,
            "candidate": candidate.get(metric),
            "baseline": baseline.get(metric),
            "why": f"metric {metric!r} not computed for the {' and '.join(missing)}",
        }
    cand, base = float(candidate[metric]), float(baseline[metric])
    lower = lower_is_better(metric)
    bound = base + tolerance if lower else base - tolerance
    passed = (cand <= bound) if lower else (cand >= bound)
    direction = "lower" if lower else "higher"
    verdict = "not worse" if passed else "worse"
    return {
        **check,
        "passed": passed,
        "candidate": cand,
        "baseline": base,
        "direction": f"{direction} is better",
        "why": f"{metric}: candidate {cand:.6g} vs baseline {base:.6g} ({direction} is better, "
        f"tolerance {tolerance:g}): {verdict}",
    }


def decide(
    metrics: Mapping[str, float],
    thresholds: Sequence[Threshold] = (),
    baseline_metrics: Mapping[str, float] | None = None,
    compare_metric: str = "accuracy",
    tolerance: float = 0.0,
) -> Blessing:
    """Blessed when every threshold holds and the candidate is not worse than the baseline."""
    checks = [_threshold_check(t, metrics) for t in thresholds]
    if baseline_metrics is not None:
        checks.append(_baseline_check(compare_metric, metrics, baseline_metrics, tolerance))
    if not checks:
        return Blessing(True, "no thresholds and no baseline: blessed by default (first run)", ())
    failed = [c["why"] for c in checks if not c["passed"]]
    if failed:
        return Blessing(False, "; ".join(failed), tuple(checks))
    return Blessing(True, f"all {len(checks)} check(s) passed", tuple(checks))


def write(output_dir: str, blessing: Blessing, extra: Mapping[str, Any] | None = None) -> str:
    """Writes blessing.json, then the BLESSED or NOT_BLESSED marker (removing the other one).

    The marker comes last and each file is renamed into place, so a reader that sees a marker
    sees the complete blessing.json. Returns the marker path.
    """
    import tensorflow as tf

    tf.io.gfile.makedirs(output_dir)
    marker, other = (
        (artifacts.BLESSED, artifacts.NOT_BLESSED)
        if blessing.blessed
        else (artifacts.NOT_BLESSED, artifacts.BLESSED)
    )
    stale = f"{output_dir}/{other}"
    if tf.io.gfile.exists(stale):
        tf.io.gfile.remove(stale)
    files.write_json_atomic(
        f"{output_dir}/{artifacts.BLESSING_FILE}", {**blessing.to_dict(), **(extra or {})}
    )
    path = f"{output_dir}/{marker}"
    files.write_atomic(path, blessing.reason + "\n")
    return path


def read(directory: str) -> tuple[bool, str]:
    """(blessed, reason) from an evaluator output (or blessing artifact) directory.

    Raises:
        FileNotFoundError: neither marker is there.
        ValueError: both markers, or a marker that contradicts blessing.json.
    """
    import tensorflow as tf

    has = {
        m: tf.io.gfile.exists(f"{directory}/{m}")
        for m in (artifacts.BLESSED, artifacts.NOT_BLESSED)
    }
    if not any(has.values()):
        raise FileNotFoundError(
            f"{directory} holds neither {artifacts.BLESSED} nor {artifacts.NOT_BLESSED}: "
            "is it an evaluator output?"
        )
    if all(has.values()):
        raise ValueError(f"{directory} holds both {artifacts.BLESSED} and {artifacts.NOT_BLESSED}")
    blessed = has[artifacts.BLESSED]
    reason = ""
    record = f"{directory}/{artifacts.BLESSING_FILE}"
    if tf.io.gfile.exists(record):
        data = files.read_json(record)
        if bool(data.get("blessed")) != blessed:
            raise ValueError(
                f"{record} says blessed={data.get('blessed')} but the marker disagrees"
            )
        reason = data.get("reason", "")
    return blessed, reason


def copy(source_dir: str, target_dir: str) -> None:
    """Copies blessing.json and the marker (marker last) into another directory."""
    import tensorflow as tf

    blessed, _ = read(source_dir)
    marker = artifacts.BLESSED if blessed else artifacts.NOT_BLESSED
    tf.io.gfile.makedirs(target_dir)
    for name in (artifacts.BLESSING_FILE, marker):
        with tf.io.gfile.GFile(f"{source_dir}/{name}") as f:
            files.write_atomic(f"{target_dir}/{name}", f.read())


class BlessingMismatchError(ValueError):
    """The checkpoint to push is not the one the blessing judged."""


def model_identity(model_dir: str, checkpoint: str) -> dict[str, str]:
    """What a blessing names as the model it judged: where it was, and its weights' digest."""
    from components import checkpoints

    return {
        "model_dir": files.abspath(model_dir),
        "checkpoint": files.abspath(checkpoint),
        "digest": checkpoints.digest(checkpoint),
    }


def blessed_model(directory: str) -> dict[str, str] | None:
    """The `model` identity recorded in a blessing (None for a blessing without one)."""
    record = f"{directory}/{artifacts.BLESSING_FILE}"
    if not files.exists(record):
        return None
    return files.read_json(record).get("model")


def check_blessed(directory: str, checkpoint: str) -> None:
    """Refuses `checkpoint` unless its weights are the ones the blessing in `directory` judged.

    Raises:
        BlessingMismatchError: no model identity in the blessing, or other weights; the
            message names the blessed model and the one offered.
    """
    from components import checkpoints

    if not files.exists(f"{directory}/{artifacts.BLESSING_FILE}"):
        # A TFX ModelBlessing holds only its marker: TFX keeps the judged model's identity in
        # MLMD, where a pairing of blessing and model is the pipeline's to get right.
        log.warning(
            "%s is a marker-only blessing (TFX's ModelBlessing): it does not name the weights it "
            "judged, so exporting %s trusts that it is the evaluated model",
            directory,
            files.abspath(checkpoint),
        )
        return
    blessed = blessed_model(directory)
    if not blessed or not blessed.get("digest"):
        raise BlessingMismatchError(
            f"{directory}/{artifacts.BLESSING_FILE} does not say which weights it blessed "
            "(written by an older evaluator?): evaluate the model again"
        )
    digest = checkpoints.digest(checkpoint)
    if digest != blessed["digest"]:
        raise BlessingMismatchError(
            f"the blessing in {directory} is for the model {blessed['model_dir']} (checkpoint "
            f"{blessed['checkpoint']}, sha256 {blessed['digest'][:12]}), not for "
            f"{files.abspath(checkpoint)} (sha256 {digest[:12]}): evaluate this model and "
            "export with its own evaluation"
        )
