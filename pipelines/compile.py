"""Compiling the pipeline to KFP IR YAML (deterministic: the same code gives the same file)."""

from __future__ import annotations

import os
import tempfile

from kfp import compiler

from components import files
from pipelines.training_pipeline import training_pipeline


def compile_pipeline(output_path: str) -> str:
    """Writes the pipeline's IR YAML to `output_path` (atomically) and returns the path."""
    os.makedirs(os.path.dirname(os.path.abspath(output_path)), exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        compiled = os.path.join(scratch, "pipeline.yaml")
        compiler.Compiler().compile(training_pipeline, compiled)
        files.write_atomic(output_path, files.read_text(compiled))
    return output_path
