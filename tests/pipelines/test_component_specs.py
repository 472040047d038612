"""Each step ships a compiled component spec that any pipeline can load, in sync with its code."""

import os
import re
from pathlib import Path

import pytest
from kfp import components

from components.image import DEFAULT_IMAGE
from pipelines.compile import COMPONENT_SPEC, COMPONENTS_DIR, STEP_COMPONENTS, compile_components
from tests.components import penguins_fixtures

penguins_examples = penguins_fixtures.penguins_examples
penguins_model = penguins_fixtures.penguins_model
ROOT = Path(__file__).resolve().parents[2]


def spec_path(step: str) -> str:
    return os.path.join(COMPONENTS_DIR, step, COMPONENT_SPEC)


def test_every_shipped_spec_is_what_its_component_compiles_to(tmp_path, monkeypatch):
    monkeypatch.delenv("TPUEST_IMAGE", raising=False)
    written = compile_components(str(tmp_path))
    assert written == [str(tmp_path / step / COMPONENT_SPEC) for step in STEP_COMPONENTS]
    stale = [
        step
        for step in STEP_COMPONENTS
        if Path(tmp_path / step / COMPONENT_SPEC).read_text() != Path(spec_path(step)).read_text()
    ]
    assert stale == [], "regenerate with `tpuest pipeline compile-components`"


@pytest.mark.parametrize("step", sorted(STEP_COMPONENTS))
def test_a_spec_loads_with_kfp_and_keeps_the_step_s_interface(step):
    loaded = components.load_component_from_file(spec_path(step))
    module, name = STEP_COMPONENTS[step]
    original = getattr(__import__(module, fromlist=[name]), name)
    assert loaded.name == original.name
    assert loaded.component_spec.inputs == original.component_spec.inputs
    assert loaded.component_spec.outputs == original.component_spec.outputs
    assert loaded.component_spec.implementation.container.image == DEFAULT_IMAGE


def composing_example() -> str:
    """The python block of docs/components.md that composes our specs into a pipeline."""
    text = (ROOT / "docs" / "components.md").read_text()
    (block,) = [
        b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "load_component" in b
    ]
    return block


@pytest.mark.slow
def test_the_docs_pipeline_of_loaded_specs_runs_locally_as_written(
    tmp_path, monkeypatch, penguins_examples, penguins_model
):
    (tmp_path / "out").mkdir()
    os.symlink(penguins_examples, tmp_path / "out" / "examples")
    os.symlink(penguins_model.model_dir, tmp_path / "out" / "model")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    code = composing_example().replace('"components/', f'"{ROOT}/components/')
    namespace: dict = {}
    exec(compile(code, "docs/components.md", "exec"), namespace)
    pushed = namespace["run"].outputs["Output"]
    assert pushed.metadata["pushed"] is True and pushed.metadata["reason"] == "blessed"
    assert os.path.isfile(os.path.join(pushed.metadata["export_path"], "saved_model.pb"))
