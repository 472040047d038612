"""Compiling to KFP IR YAML, deterministically (the same code gives the same file): the training
pipeline, and each step's component spec (components/<step>/component.yaml)."""

from __future__ import annotations

import importlib
import os
import tempfile

from kfp import compiler

import components
from components import files
from pipelines.resources import Hardware
from pipelines.training_pipeline import DEFAULTS, PARAMETERS, build_pipeline


def compile_pipeline(
    output_path: str,
    *,
    hardware: Hardware | None = None,
    defaults: dict | None = None,
    run_parameters: dict | None = None,
) -> str:
    """Writes the pipeline's IR YAML to `output_path` (atomically) and returns the path.

    Args:
        output_path: where the YAML goes.
        hardware: what the tasks ask the cluster for (CPU/memory, the trainer's GPUs or TPU
            slice, node selectors, tolerations, volumes); None: nothing.
        defaults: pipeline parameter values compiled in as the parameters' defaults.
        run_parameters: the values a run will pass (submit, schedule): checked against
            `hardware` with the defaults, not compiled in.

    A checkpoint_dir known here (a default or a run's value) reaches the trainer as
    checkpoint_dir/<KFP run id>: one directory per run, shared by its retries.

    Raises:
        ValueError: a default that is not a pipeline parameter, or hardware that contradicts
            the parameters (a TPU slice without use_tpu, num_shards not its chips).
    """
    hardware = hardware or Hardware()
    defaults = dict(defaults or {})
    unknown = sorted(set(defaults) - set(PARAMETERS))
    if unknown:
        raise ValueError(f"{unknown} are not pipeline parameters: {sorted(PARAMETERS)}")
    chosen = {**DEFAULTS, **defaults, **(run_parameters or {})}
    hardware.check_parameters(chosen)
    # A known durable checkpoint_dir gets a subdirectory per run (see build_pipeline).
    pipeline = build_pipeline(hardware, checkpoints_per_run=bool(chosen["checkpoint_dir"]))
    return _compile_to(pipeline, output_path, defaults)


# Each step's KFP face: (module, function). Its compiled spec is COMPONENT_SPEC beside it.
STEP_COMPONENTS = {
    "prepare": ("components.prepare.component", "prepare"),
    "trainer": ("components.trainer.component", "trainer"),
    "evaluator": ("components.evaluator.component", "evaluator"),
    "exporter": ("components.exporter.component", "exporter"),
}
COMPONENT_SPEC = "component.yaml"
COMPONENTS_DIR = os.path.dirname(os.path.abspath(components.__file__))


def _compile_to(component, output_path: str, defaults: dict | None = None) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        compiled = os.path.join(scratch, COMPONENT_SPEC)
        compiler.Compiler().compile(component, compiled, pipeline_parameters=defaults or None)
        files.write_atomic(output_path, files.read_text(compiled))
    return output_path


def compile_components(root: str = COMPONENTS_DIR) -> list[str]:
    """Writes each step's component spec to root/<step>/component.yaml; returns the paths.

    Any pipeline can load one with kfp.components.load_component_from_file (or _from_url);
    it runs the image's `components` code, as the pipeline's own tasks do.
    """
    written = []
    for step, (module, name) in STEP_COMPONENTS.items():
        component = getattr(importlib.import_module(module), name)
        written.append(_compile_to(component, os.path.join(root, step, COMPONENT_SPEC)))
    return written
