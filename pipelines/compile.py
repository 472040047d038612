"""Compiling to KFP IR YAML, deterministically (the same code gives the same file): the training
pipeline, and each step's component spec (components/<step>/component.yaml)."""

from __future__ import annotations

import importlib
import os
import tempfile

from kfp import compiler

import components
from components import files
from pipelines.training_pipeline import training_pipeline


def compile_pipeline(output_path: str) -> str:
    """Writes the pipeline's IR YAML to `output_path` (atomically) and returns the path."""
    return _compile_to(training_pipeline, output_path)


# Each step's KFP face: (module, function). Its compiled spec is COMPONENT_SPEC beside it.
STEP_COMPONENTS = {
    "prepare": ("components.prepare.component", "prepare"),
    "trainer": ("components.trainer.component", "trainer"),
    "evaluator": ("components.evaluator.component", "evaluator"),
    "exporter": ("components.exporter.component", "exporter"),
}
COMPONENT_SPEC = "component.yaml"
COMPONENTS_DIR = os.path.dirname(os.path.abspath(components.__file__))


def _compile_to(component, output_path: str) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        compiled = os.path.join(scratch, COMPONENT_SPEC)
        compiler.Compiler().compile(component, compiled)
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
