"""The pipeline's parameters as `tpuest pipeline` flags: one flag per parameter of the pipeline's
signature, its help and its validation taken from the step field it feeds (components/<step>/
args.py), so a parameter is defined once."""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Mapping

from components import step_args
from components.cli import UsageError, beam_flags, key_values
from components.evaluator.args import EvaluatorArgs
from components.prepare.args import PrepareArgs
from components.trainer.args import TrainerArgs

STEP_ARGS = {"prepare": PrepareArgs, "trainer": TrainerArgs, "evaluator": EvaluatorArgs}

# Each pipeline parameter a step field receives: (step, field). Its help and its check are the
# field's.
FEEDS = {
    "label": ("prepare", "label"),
    "split_key": ("prepare", "split_key"),
    "max_bad_fraction": ("prepare", "max_bad_fraction"),
    "input_format": ("prepare", "input_format"),
    "beam_options": ("prepare", "beam_options"),
    "direct_num_workers": ("prepare", "direct_num_workers"),
    **{
        name: ("trainer", name)
        for name in (
            "module_file",
            "train_steps",
            "train_batch_size",
            "iterations_per_loop",
            "replicas",
            "strategy",
            "params",
            "seed",
            "warm_start_from",
            "use_tpu",
            "tpu",
            "num_shards",
            "save_checkpoints_steps",
            "loop_timeout_secs",
            "checkpoint_dir",
        )
    },
    "iterations_per_loop_budget": ("trainer", "iterations_per_loop"),
    "eval_batch_size": ("evaluator", "batch_size"),
    "thresholds": ("evaluator", "thresholds"),
    "compare_metric": ("evaluator", "compare_metric"),
    "tolerance": ("evaluator", "tolerance"),
    "slice_by": ("evaluator", "slice_by"),
    "baseline_model_uri": ("evaluator", "baseline_model_dir"),
}
# Pipeline parameters no step field receives, with their help.
OWN_HELP = {
    "input_pattern": "CSV / JSON Lines path or glob (comma-separated for several), any Beam "
    "filesystem",
    "iterations_per_loop_budget": "a time per host loop like 30s, replacing iterations_per_loop "
    "(a KFP parameter has one type)",
    "beam_options": "Beam pipeline flags for prepare in one string, e.g. "
    "'--runner=DataflowRunner --project=my-project'",
    "export_base": "where exported versions go (default: the exporter's output artifact)",
    "prepare_cache_key": "what prepare's cache is keyed on (default: the run id: no reuse)",
}
# Step fields the pipeline does not expose, and why (checked by tests/pipelines/
# test_pipeline_args.py against the step dataclasses).
LEFT_OUT = {
    "prepare": {
        "schema": "each run infers the schema of its own data",
        "splits": "the trainer reads Split-train and the evaluator Split-eval: the default "
        "train=0.8,eval=0.2 names stay",
        "direct_running_mode": "chosen by input size; beam_options can set it",
        "overwrite": "KFP gives each run a fresh output directory",
        "max_line_bytes": "a safety bound on malformed input; its default stays",
    },
    "trainer": {},
    "evaluator": {
        "checkpoint": "a pipeline evaluates the trainer's latest checkpoint",
        "split": "prepare writes the eval split the evaluator reads",
    },
    "exporter": {
        "force": "a pipeline exports blessed models only",
        "checkpoint": "the blessing names the checkpoint",
    },
}
# Flags named otherwise than --<parameter-with-dashes>.
FLAGS = {"input_pattern": "--input", "thresholds": "--threshold"}


def flag_of(name: str) -> str:
    return FLAGS.get(name) or "--" + name.replace("_", "-")


def help_of(name: str) -> str:
    if name in OWN_HELP:
        return OWN_HELP[name]
    step, field = FEEDS[name]
    return step_args.fields(STEP_ARGS[step])[field].metadata["help"]


def _parameters():
    from pipelines.training_pipeline import PARAMETERS

    return PARAMETERS


def add_parameter_flags(
    parser: argparse.ArgumentParser,
    *,
    skip: Mapping[str, str] = {},  # noqa: B006 (never mutated)
    types: Mapping[str, object] = {},  # noqa: B006
    required: tuple[str, ...] = (),
    title: str = "pipeline parameters",
) -> None:
    """Adds one flag per pipeline parameter not in `skip` (name -> why it is not a flag).

    A flag not given leaves its parameter out (dest None): the pipeline's default applies.
    `types` overrides a flag's argparse type (e.g. a local file check).
    """
    group = parser.add_argument_group(title)
    for name, parameter in _parameters().items():
        if name in skip:
            continue
        kind = parameter.annotation
        kwargs: dict = {"dest": name, "default": None}
        if kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif kind is list:
            kwargs.update(action="append", metavar="VALUE")
        elif kind is dict:
            kwargs.update(action="append", metavar="KEY=VALUE")
        else:
            kwargs["type"] = types.get(name, {int: int, float: float}.get(kind, str))
        if name == "beam_options" and "type" in kwargs:
            kwargs["type"] = types.get(name, beam_flags)
        text = help_of(name)
        if kind in (list, dict) and "repeatable" not in text:
            text += " (repeatable)"
        default = parameter.default
        if "default" not in text and default is not parameter.empty and default not in ("", [], {}):
            text += f" (default: {default})"
        kwargs["help"] = text.replace("%", "%%")
        if name in required:
            kwargs["required"] = True
        group.add_argument(flag_of(name), **kwargs)
    if skip:
        group.description = "set by the command itself:\n" + "\n".join(
            f"  {name}: {why}" for name, why in skip.items()
        )


def values_from_args(args: argparse.Namespace) -> dict:
    """The pipeline parameters given as flags, as the pipeline takes them."""
    values = {}
    for name, parameter in _parameters().items():
        value = getattr(args, name, None)
        if value is None:
            continue
        if parameter.annotation is dict:
            value = key_values(value, flag_of(name))
        values[name] = value
    return values


def merge(flags: dict, params: dict) -> dict:
    """Flag values and --param values together; one parameter given both ways is an error."""
    both = sorted(set(flags) & set(params))
    if both:
        raise UsageError(f"{both[0]} is given twice: as {flag_of(both[0])} and as --param")
    return {**params, **flags}


def check_values(values: Mapping) -> None:
    """Checks pipeline parameter values (over the defaults) the way each step will: by
    building the step's args dataclass.

    Raises:
        UsageError: a value a step refuses, named by its flag.
    """
    from pipelines.training_pipeline import DEFAULTS

    unknown = sorted(set(values) - set(_parameters()))
    if unknown:
        raise UsageError(f"--param {unknown[0]}: not a pipeline parameter")
    for name, value in values.items():
        if isinstance(value, str) and value and not value.strip():
            raise UsageError(f"{flag_of(name)}: must not be blank")
    effective = {**DEFAULTS, **values}
    for step, cls in STEP_ARGS.items():
        received = {}
        for name, (to_step, field) in FEEDS.items():
            if to_step != step or name not in effective:
                continue
            value = effective[name]
            if name == "beam_options":
                value = shlex.split(value)
            if name == "iterations_per_loop_budget" and not value:
                continue
            received.setdefault(field, value)
            if name == "iterations_per_loop_budget":
                received[field] = value
        if step == "trainer":
            received.setdefault("train_steps", effective.get("train_steps"))
        try:
            step_args.from_kfp(cls, received)
        except step_args.ArgsError as e:
            fed = [n for n, (s, f) in FEEDS.items() if s == step and f == e.field]
            name = next((n for n in fed if n in values), fed[0])
            raise UsageError(f"{flag_of(name)}: {e.message}") from None
