"""Every KFP component runs in the project image: the default, or TPUEST_IMAGE when set."""

import importlib
import json
import os
import subprocess
import sys

import pytest

from components.image import image

COMPONENTS = {
    "components.prepare.component": "prepare",
    "components.trainer.component": "trainer",
    "components.evaluator.component": "evaluator",
    "components.exporter.component": "exporter",
}


def base_image(component) -> str:
    return component.component_spec.implementation.container.image


@pytest.mark.parametrize("module, name", sorted(COMPONENTS.items()))
def test_component_base_image_is_the_project_image(module, name):
    component = getattr(importlib.import_module(module), name)
    assert base_image(component) == image()


def test_tpuest_image_overrides_every_component(tmp_path):
    script = (
        "import importlib, json\n"
        f"names = {COMPONENTS!r}\n"
        "print(json.dumps({m: getattr(importlib.import_module(m), n)"
        ".component_spec.implementation.container.image for m, n in names.items()}))\n"
    )
    env = {"TPUEST_IMAGE": "registry.example/tpuest:test", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=str(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr
    images = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(images.values()) == {"registry.example/tpuest:test"}


def test_component_interfaces_for_the_pipeline():
    from components.evaluator.component import evaluator
    from components.exporter.component import exporter
    from components.trainer.component import trainer

    spec = trainer.component_spec
    assert set(spec.inputs) >= {"examples", "train_steps", "module_file", "params"}
    # New knobs are optional; iterations_per_loop stays an Integer for pipelines passing ints.
    defaults = {name: (i.type, i.default) for name, i in spec.inputs.items()}
    assert defaults["iterations_per_loop"] == ("Integer", 100)
    assert defaults["iterations_per_loop_budget"] == ("String", "")
    assert defaults["use_tpu"] == ("Boolean", False)
    assert (defaults["tpu"], defaults["num_shards"]) == (("String", ""), ("Integer", 0))
    assert set(spec.outputs) == {"model"}
    spec = evaluator.component_spec
    assert set(spec.outputs) == {
        "evaluation", "metrics", "classification_metrics", "blessing", "Output"
    }  # fmt: skip
    assert spec.outputs["Output"].type == "Boolean"
    spec = exporter.component_spec
    assert set(spec.outputs) == {"pushed_model", "Output"}
