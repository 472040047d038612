"""What a model_fn returns: TPUEstimatorSpec (eval_metrics as (metric_fn, tensors)) or EstimatorSpec."""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from estimator_core.export_outputs import export_outputs_for
from estimator_core.mode_keys import ModeKeys

_MODES = (ModeKeys.TRAIN, ModeKeys.EVAL, ModeKeys.PREDICT)


def _check_hooks(name: str, hooks) -> tuple:
    hooks = tuple(hooks or ())
    for hook in hooks:
        if not isinstance(hook, tf.compat.v1.train.SessionRunHook):
            raise TypeError(f"{name} must be SessionRunHook instances, got {type(hook).__name__}")
    return hooks


def _check_mode(mode: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"mode {mode!r} is not one of {_MODES}")


def _export_outputs(mode: str, export_outputs, predictions):
    """In PREDICT mode the default serving_default output is set at construction, as the
    original's was (model_fn wrappers add to it); other modes keep what they were given."""
    if mode != ModeKeys.PREDICT:
        return export_outputs
    return export_outputs_for(export_outputs, predictions)


def _check_fn_tensors(name: str, value) -> None:
    if value is None:
        return
    if not (isinstance(value, (tuple, list)) and len(value) == 2 and callable(value[0])):
        raise ValueError(f"{name} must be a (fn, tensors) tuple, got {value!r}")
    if not isinstance(value[1], (list, tuple, dict)):
        raise ValueError(
            f"{name}[1] must be a list or dict of tensors, got {type(value[1]).__name__}"
        )


_TPU_FIELDS = [
    "mode",
    "predictions",
    "loss",
    "train_op",
    "eval_metrics",
    "export_outputs",
    "scaffold_fn",
    "host_call",
    "training_hooks",
    "evaluation_hooks",
    "prediction_hooks",
    "training_chief_hooks",
]


class TPUEstimatorSpec(collections.namedtuple("TPUEstimatorSpec", _TPU_FIELDS)):
    """Ops and objects returned from a model_fn, in the form TPUEstimator expects.

    `eval_metrics` is `(metric_fn, tensors)`: `tensors` (a list passed positionally or a dict
    passed by keyword) are gathered from every shard and `metric_fn` runs once on the host,
    returning `{name: (value, update_op)}` from `tf.compat.v1.metrics`. `host_call` is
    `(fn, tensors)` run on the host with the tensors gathered from every shard. `scaffold_fn`
    is a no-argument function returning a `tf.compat.v1.train.Scaffold`. In PREDICT mode
    `export_outputs` defaults to `{'serving_default': PredictOutput(predictions)}`, set here.

    Example:
        def metric_fn(labels, logits):
            return {"accuracy": tf.compat.v1.metrics.accuracy(labels, tf.argmax(logits, 1))}

        return TPUEstimatorSpec(mode=mode, loss=loss, eval_metrics=(metric_fn, [labels, logits]))
    """

    def __new__(
        cls,
        mode: str,
        predictions: Any = None,
        loss: Any = None,
        train_op: Any = None,
        eval_metrics: tuple[Callable, Any] | None = None,
        export_outputs: dict | None = None,
        scaffold_fn: Callable | None = None,
        host_call: tuple[Callable, Any] | None = None,
        training_hooks=None,
        evaluation_hooks=None,
        prediction_hooks=None,
        training_chief_hooks=None,
    ):
        _check_mode(mode)
        _check_fn_tensors("eval_metrics", eval_metrics)
        _check_fn_tensors("host_call", host_call)
        if scaffold_fn is not None and not callable(scaffold_fn):
            raise TypeError("scaffold_fn must be callable")
        return super().__new__(
            cls,
            mode,
            predictions,
            loss,
            train_op,
            eval_metrics,
            _export_outputs(mode, export_outputs, predictions),
            scaffold_fn,
            host_call,
            _check_hooks("training_hooks", training_hooks),
            _check_hooks("evaluation_hooks", evaluation_hooks),
            _check_hooks("prediction_hooks", prediction_hooks),
            _check_hooks("training_chief_hooks", training_chief_hooks),
        )


_EST_FIELDS = [
    "mode",
    "predictions",
    "loss",
    "train_op",
    "eval_metric_ops",
    "export_outputs",
    "training_chief_hooks",
    "training_hooks",
    "scaffold",
    "evaluation_hooks",
    "prediction_hooks",
]


class EstimatorSpec(collections.namedtuple("EstimatorSpec", _EST_FIELDS)):
    """The plain Estimator form: `eval_metric_ops` is `{name: (value, update_op)}` built in model_fn."""

    def __new__(
        cls,
        mode: str,
        predictions: Any = None,
        loss: Any = None,
        train_op: Any = None,
        eval_metric_ops: dict | None = None,
        export_outputs: dict | None = None,
        training_chief_hooks=None,
        training_hooks=None,
        scaffold=None,
        evaluation_hooks=None,
        prediction_hooks=None,
    ):
        _check_mode(mode)
        if eval_metric_ops is not None and not isinstance(eval_metric_ops, dict):
            raise TypeError("eval_metric_ops must be a dict of name -> (value, update_op)")
        return super().__new__(
            cls,
            mode,
            predictions,
            loss,
            train_op,
            dict(eval_metric_ops or {}),
            _export_outputs(mode, export_outputs, predictions),
            _check_hooks("training_chief_hooks", training_chief_hooks),
            _check_hooks("training_hooks", training_hooks),
            scaffold,
            _check_hooks("evaluation_hooks", evaluation_hooks),
            _check_hooks("prediction_hooks", prediction_hooks),
        )


def validate_spec(spec, mode: str, *, exporting: bool = False):
    """Checks a model_fn result for `mode` and returns it; errors say what the mode needs.

    An export (`exporting`) needs predictions or export_outputs; predict needs predictions.
    """
    if not isinstance(spec, (TPUEstimatorSpec, EstimatorSpec)):
        raise TypeError(
            f"model_fn must return a TPUEstimatorSpec or EstimatorSpec, got {type(spec).__name__}"
        )
    if spec.mode != mode:
        raise ValueError(
            f"model_fn was called with mode {mode!r} but returned a spec for {spec.mode!r}"
        )
    if mode == ModeKeys.TRAIN:
        if spec.loss is None or spec.train_op is None:
            raise ValueError("model_fn in TRAIN mode must return both loss and train_op")
    elif mode == ModeKeys.EVAL:
        if spec.loss is None:
            raise ValueError("model_fn in EVAL mode must return loss")
    elif spec.predictions is None:
        if not exporting:
            raise ValueError("model_fn in PREDICT mode must return predictions")
        if not spec.export_outputs:
            raise ValueError(
                "model_fn in PREDICT mode returned neither export_outputs nor predictions: "
                "an export needs at least one of them"
            )
    if spec.loss is not None and spec.loss.shape.rank not in (None, 0):
        raise ValueError(f"loss must be a scalar, got shape {spec.loss.shape}")
    return spec


def scaffold_of(spec, make_saver: Callable | None = None) -> tf.compat.v1.train.Scaffold:
    """The scaffold a spec asks for (TPU: built by scaffold_fn), with a saver always set."""
    if isinstance(spec, TPUEstimatorSpec):
        scaffold = spec.scaffold_fn() if spec.scaffold_fn else tf.compat.v1.train.Scaffold()
    else:
        scaffold = spec.scaffold or tf.compat.v1.train.Scaffold()
    if scaffold.saver is None:
        saver = make_saver() if make_saver else tf.compat.v1.train.Saver(sharded=True)
        scaffold = tf.compat.v1.train.Scaffold(saver=saver, copy_from_scaffold=scaffold)
    return scaffold


def hooks_of(spec, mode: str, is_chief: bool = True) -> tuple:
    """The spec's own hooks for `mode` (chief-only hooks included on the chief)."""
    if mode == ModeKeys.TRAIN:
        return spec.training_hooks + (spec.training_chief_hooks if is_chief else ())
    if mode == ModeKeys.EVAL:
        return spec.evaluation_hooks
    return spec.prediction_hooks
