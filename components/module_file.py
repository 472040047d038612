"""Loading user model code (a module file path or an importable module name), like TFX's module_file.

The module contract (every name but `model_fn` is optional):

    model_fn(features, labels, mode, params, config)
        Required; any subset of those arguments, as for TPUEstimator. `params` holds the
        module's own `params`, then the `--params` overrides, then `schema_path` and
        `stats_path` (the prepare step's schema.json / stats.json as copied into model_dir).
    params: dict
        Default hyperparameters (overridden key by key by `--params key=value`).
    serving_input_receiver_fn(schema, params) -> ServingInputReceiver
        Any subset of those arguments (a components.schema.Schema and the params above);
        called inside the export graph, so a TF1-style receiver fn without arguments works.
        Default: a tf.Example parsing signature as `serving_default` plus raw features.
    make_input_fn(examples_dir, split, schema, label, training, seed) -> input_fn(params)
        Any subset of those arguments; replaces components.data.make_input_fn for training
        and evaluation. The input_fn must yield (features, labels) batches.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import os
import sys
import traceback
import types
from collections.abc import Callable
from typing import Any

from estimator_core.user_fns import call_with_named_args, fn_args, validate_model_fn

DEFAULT_MODULE = "components.default_model"
SERVING_ARGS = ("schema", "params")
INPUT_FN_ARGS = ("examples_dir", "split", "schema", "label", "training", "seed")
# Keys the components put into params; a module or --params may not set them.
INJECTED_PARAMS = ("schema_path", "stats_path")


class ModuleFileError(ValueError):
    """The user module cannot be used; the message names the module and the problem."""


@dataclasses.dataclass(frozen=True)
class UserModule:
    """What a module file provides, checked once at load time."""

    source: str  # the path or module name as given
    model_fn: Callable
    params: dict[str, Any]
    serving_input_receiver_fn: Callable | None = None
    make_input_fn: Callable | None = None
    sha256: str | None = None  # of the file, when loaded from a path

    def call_serving_input_receiver_fn(self, schema, params: dict):
        """The module's receiver fn called with the arguments it names."""
        available = {"schema": schema, "params": params}
        return call_with_named_args(self.serving_input_receiver_fn, available)

    def call_make_input_fn(self, **available):
        """The module's make_input_fn called with the arguments it names (from INPUT_FN_ARGS)."""
        return call_with_named_args(self.make_input_fn, available)


def _is_path(source: str) -> bool:
    return source.endswith(".py") or os.sep in source or "/" in source


def _import_path(path: str) -> types.ModuleType:
    if not os.path.isfile(path):
        raise ModuleFileError(f"module file not found: {path}")
    digest = hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:12]
    name = f"tpuest_user_module_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModuleFileError(f"module file {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    # The module's own directory first, so it can import its sibling files.
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as e:
        sys.modules.pop(name, None)
        if isinstance(e, KeyboardInterrupt):
            raise
        raise ModuleFileError(
            f"module file {path} failed at import: {type(e).__name__}: {e}\n"
            + "".join(traceback.format_exception(e))
        ) from e
    finally:
        sys.path.pop(0)
    return module


def _import_name(name: str) -> types.ModuleType:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name and name.startswith(e.name):
            raise ModuleFileError(
                f"module {name!r} not found (give a .py path or an importable module name)"
            ) from e
        raise ModuleFileError(
            f"module {name} failed at import: {type(e).__name__}: {e}\n"
            + "".join(traceback.format_exception(e))
        ) from e
    except Exception as e:
        raise ModuleFileError(
            f"module {name} failed at import: {type(e).__name__}: {e}\n"
            + "".join(traceback.format_exception(e))
        ) from e


def _optional_fn(module, source: str, name: str, allowed: tuple[str, ...]) -> Callable | None:
    fn = getattr(module, name, None)
    if fn is None:
        return None
    if not callable(fn):
        raise ModuleFileError(f"{source}: {name} must be a function, got {type(fn).__name__}")
    unknown = [a for a in fn_args(fn) if a not in allowed]
    if unknown:
        raise ModuleFileError(
            f"{source}: {name} has unexpected arguments {unknown}; it may take any of {allowed}"
        )
    return fn


def load(source: str | None = None) -> UserModule:
    """Loads and checks a user module.

    Args:
        source: a path to a .py file, or an importable module name; None or "" loads the
            built-in default model (components.default_model).

    Returns:
        A UserModule with the checked functions and default params.

    Raises:
        ModuleFileError: the file is missing, fails at import (the message holds the
            traceback), has no `model_fn`, or a function or `params` has the wrong form.
    """
    source = source or DEFAULT_MODULE
    module = _import_path(source) if _is_path(source) else _import_name(source)
    model_fn = getattr(module, "model_fn", None)
    if model_fn is None:
        raise ModuleFileError(f"{source}: defines no `model_fn`")
    try:
        validate_model_fn(model_fn)
    except (TypeError, ValueError) as e:
        raise ModuleFileError(f"{source}: bad model_fn: {e}") from e
    params = getattr(module, "params", None) or {}
    if not isinstance(params, dict):
        raise ModuleFileError(f"{source}: params must be a dict, got {type(params).__name__}")
    reserved = sorted(set(params) & set(INJECTED_PARAMS))
    if reserved:
        raise ModuleFileError(f"{source}: params must not set {reserved}; the components set them")
    sha = None
    if _is_path(source):
        with open(source, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
    return UserModule(
        source=source,
        model_fn=model_fn,
        params=dict(params),
        serving_input_receiver_fn=_optional_fn(
            module, source, "serving_input_receiver_fn", SERVING_ARGS
        ),
        make_input_fn=_optional_fn(module, source, "make_input_fn", INPUT_FN_ARGS),
        sha256=sha,
    )
