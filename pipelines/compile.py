"""Compiling the pipeline to KFP IR YAML (deterministic: the same code gives the same file)."""

from __future__ import annotations

import os
import tempfile

from kfp import compiler

from pipelines.training_pipeline import training_pipeline


def compile_pipeline(output_path: str) -> str:
    """Writes the pipeline's IR YAML to `output_path` (atomically) and returns the path."""
    directory = os.path.dirname(os.path.abspath(output_path))
    os.makedirs(directory, exist_ok=True)
    fd, temp = tempfile.mkstemp(suffix=".yaml", dir=directory)
    os.close(fd)
    try:
        compiler.Compiler().compile(training_pipeline, temp)
        os.replace(temp, output_path)
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return output_path
