"""One prediction pass over the eval split: the confusion matrix, a ROC curve and slice values.

Convention: a model's PREDICT `predictions` dict has `class_ids` indexing the class names
(the sorted vocabulary of a string label, or the int label itself) and, for a ROC curve,
`probabilities`. Models without `class_ids` get metrics and slices but no confusion matrix.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from estimator_core.user_fns import call_input_fn

log = logging.getLogger("tpuest.evaluator")
MAX_SLICE_VALUES = 100
MISSING = "<missing>"


@dataclasses.dataclass
class EvalData:
    """Labels and slice columns of the eval split, in input order, read eagerly once."""

    labels: np.ndarray
    columns: dict[str, np.ndarray]

    @property
    def count(self) -> int:
        return len(self.labels)


def read_eval_data(input_fn: Callable, batch_size: int, slice_by: Sequence[str]) -> EvalData:
    """Iterates the eval input once (eagerly) for its labels and the `slice_by` columns."""
    dataset = call_input_fn(input_fn, {"batch_size": batch_size}, None, "eval")
    labels, columns = [], {name: [] for name in slice_by}
    for features, batch_labels in dataset.as_numpy_iterator():
        labels.append(np.asarray(batch_labels))
        for name in slice_by:
            if name not in features:
                raise ValueError(
                    f"slice feature {name!r} is not a feature (have {sorted(features)})"
                )
            columns[name].append(np.asarray(features[name]))
    if not labels:
        raise ValueError("the eval split has no examples")
    return EvalData(
        labels=np.concatenate(labels), columns={n: np.concatenate(v) for n, v in columns.items()}
    )


def features_only(input_fn: Callable) -> Callable:
    """input_fn yielding (features, labels) -> one yielding features, for predict."""

    def predict_input_fn(params, config=None, mode=None):
        dataset = call_input_fn(input_fn, params, config, mode)
        return dataset.map(lambda features, labels: features)

    return predict_input_fn


def label_ids(labels: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    """Raw labels -> indices into class_names (-1 when unknown)."""
    index = {name: i for i, name in enumerate(class_names)}
    decoded = [v.decode() if isinstance(v, bytes) else str(int(v)) for v in labels]
    return np.array([index.get(v, -1) for v in decoded], np.int64)


def confusion_matrix(actual: np.ndarray, predicted: np.ndarray, n: int) -> list[list[int]]:
    """matrix[i][j] = examples of class i predicted as j (unknown labels left out)."""
    matrix = np.zeros((n, n), np.int64)
    known = (actual >= 0) & (actual < n) & (predicted >= 0) & (predicted < n)
    np.add.at(matrix, (actual[known], predicted[known]), 1)
    return matrix.tolist()


def roc_curve(positive: np.ndarray, scores: np.ndarray, points: int = 51) -> dict[str, list]:
    """FPR/TPR at evenly spaced thresholds from 1 to 0 (KFP's log_roc_curve format)."""
    thresholds = np.linspace(1.0, 0.0, points)
    pos, neg = max(int(positive.sum()), 1), max(int((~positive).sum()), 1)
    tpr = [float(((scores >= t) & positive).sum() / pos) for t in thresholds]
    fpr = [float(((scores >= t) & ~positive).sum() / neg) for t in thresholds]
    return {"fpr": fpr, "tpr": tpr, "thresholds": [float(t) for t in thresholds]}


def predictions_of(estimator, input_fn: Callable, checkpoint: str) -> dict[str, np.ndarray]:
    """Every prediction for the eval split, concatenated per key."""
    batches = list(
        estimator.predict(
            features_only(input_fn), checkpoint_path=checkpoint, yield_single_examples=False
        )
    )
    if not batches or not isinstance(batches[0], dict):
        return {}
    return {key: np.concatenate([b[key] for b in batches]) for key in batches[0]}


def classification_report(
    predictions: dict[str, np.ndarray], data: EvalData, class_names: Sequence[str]
) -> dict[str, Any] | None:
    """The confusion matrix (and a ROC curve for two classes), or None without class_ids."""
    if "class_ids" not in predictions:
        log.info("predictions have no 'class_ids': no confusion matrix")
        return None
    predicted = predictions["class_ids"].astype(np.int64).reshape(-1)
    if len(predicted) != data.count:
        raise RuntimeError(
            f"predict gave {len(predicted)} rows for {data.count} eval examples: the eval "
            "input must be deterministic and finite"
        )
    actual = label_ids(data.labels, class_names)
    report: dict[str, Any] = {
        "labels": list(class_names),
        "matrix": confusion_matrix(actual, predicted, len(class_names)),
        "unknown_labels": int((actual < 0).sum()),
    }
    probabilities = predictions.get("probabilities")
    if len(class_names) == 2 and probabilities is not None and probabilities.ndim == 2:
        report["roc_curve"] = roc_curve(actual == 1, probabilities[:, 1])
    return report


def slice_values(column: np.ndarray, feature: str) -> list[Any]:
    """Distinct values of a slice column (NaN and "" as one missing value), sorted."""
    values = set()
    for v in column.tolist():
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        values.add(None if v == "" or (isinstance(v, float) and math.isnan(v)) else v)
    if len(values) > MAX_SLICE_VALUES:
        raise ValueError(
            f"slice feature {feature!r} has {len(values)} distinct values in the eval split "
            f"(at most {MAX_SLICE_VALUES}): slice by a categorical column"
        )
    return sorted(values, key=lambda v: (v is None, str(type(v)), v if v is not None else 0))


def slice_key(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def sliced_input_fn(input_fn: Callable, feature: str, value: Any) -> Callable:
    """The eval input restricted to examples whose `feature` equals `value` (None: missing)."""

    def matches(features, labels):
        column = features[feature]
        if column.dtype == tf.string:
            return tf.equal(column, "" if value is None else value)
        if value is None:
            return tf.math.is_nan(tf.cast(column, tf.float32))
        return tf.equal(column, tf.cast(value, column.dtype))

    def slice_input_fn(params, config=None, mode=None):
        dataset = call_input_fn(input_fn, params, config, mode)
        return dataset.unbatch().filter(matches).batch(params["batch_size"])

    return slice_input_fn
