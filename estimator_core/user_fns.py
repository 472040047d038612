"""Calling user code: model_fn with any subset of its named arguments, input_fn with params/config."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any

MODEL_FN_ARGS = ("features", "labels", "mode", "params", "config")


def fn_args(fn: Callable) -> tuple[str, ...]:
    """Names of the parameters `fn` accepts (functools.partial-bound ones removed)."""
    if isinstance(fn, functools.partial):
        bound = set(fn.keywords or {})
        names = fn_args(fn.func)[len(fn.args) :]
        return tuple(n for n in names if n not in bound)
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as e:
        raise TypeError(f"cannot inspect the signature of {fn!r}: {e}") from e
    return tuple(
        p.name
        for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY, p.POSITIONAL_ONLY)
    )


def call_with_named_args(fn: Callable, available: Mapping[str, Any]) -> Any:
    """Calls `fn` with the entries of `available` that its signature names (KeyError: a name
    `available` lacks; callers check the names first)."""
    return fn(**{name: available[name] for name in fn_args(fn)})


def validate_model_fn(model_fn: Callable) -> tuple[str, ...]:
    """Checks model_fn takes `features` and only names from MODEL_FN_ARGS; returns its args."""
    if model_fn is None or not callable(model_fn):
        raise ValueError(f"model_fn must be callable, got {model_fn!r}")
    args = fn_args(model_fn)
    unknown = [a for a in args if a not in MODEL_FN_ARGS]
    if unknown:
        raise ValueError(
            f"model_fn has unexpected arguments {unknown}; it may take any of {MODEL_FN_ARGS}"
        )
    if "features" not in args:
        raise ValueError("model_fn must take a `features` argument")
    return args


def call_model_fn(model_fn: Callable, features, labels, mode: str, params: dict, config) -> Any:
    """Calls model_fn with exactly the arguments it names."""
    available = {
        "features": features,
        "labels": labels,
        "mode": mode,
        "params": params,
        "config": config,
    }
    args = fn_args(model_fn)
    if labels is not None and "labels" not in args:
        raise ValueError("input_fn returned labels but model_fn has no `labels` argument")
    return call_with_named_args(model_fn, available)


def call_input_fn(input_fn: Callable, params: dict, config, mode: str, input_context=None) -> Any:
    """Calls input_fn with any of (params, config, mode, input_context) its signature names."""
    if not callable(input_fn):
        raise ValueError(f"input_fn must be callable, got {input_fn!r}")
    args = fn_args(input_fn)
    available = {"params": params, "config": config, "mode": mode, "input_context": input_context}
    unknown = [a for a in args if a not in available]
    if unknown:
        raise ValueError(
            f"input_fn has unexpected arguments {unknown}; it may take params, config, mode "
            "and input_context"
        )
    return call_with_named_args(input_fn, available)
