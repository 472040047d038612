"""The compiled pipeline: every task on the project image, deterministic output."""

from pathlib import Path

import yaml

from components.image import image
from pipelines.cli import register  # noqa: F401  (the CLI module imports cleanly)
from pipelines.compile import compile_pipeline
from pipelines.tpuest import main
from pipelines.training_pipeline import DEFAULTS


def test_compiles_identically_with_every_task_on_the_project_image(tmp_path):
    first = compile_pipeline(str(tmp_path / "a.yaml"))
    second = compile_pipeline(str(tmp_path / "b.yaml"))
    assert Path(first).read_text() == Path(second).read_text()
    spec = yaml.safe_load(Path(first).read_text())
    executors = spec["deploymentSpec"]["executors"]
    containers = {name: e["container"] for name, e in executors.items() if "container" in e}
    assert {c["image"] for c in containers.values()} == {image()}
    # One task per step, all in the root DAG: no condition branches, no copies, no importer.
    tasks = spec["root"]["dag"]["tasks"]
    assert sorted(tasks) == ["evaluator", "exporter", "prepare", "report", "trainer"]
    assert sorted(containers) == [f"exec-{name}" for name in sorted(tasks)]
    assert not [c for c in spec["components"].values() if "dag" in c]
    assert tasks["trainer"]["retryPolicy"]["maxRetryCount"] == 2
    # Only prepare is cached (and only prepare may be: the trainer, evaluator, report and
    # exporter must run every time).
    cached = {n for n, t in tasks.items() if t.get("cachingOptions", {}).get("enableCache")}
    assert cached == {"prepare"}
    inputs = spec["root"]["inputDefinitions"]["parameters"]
    assert set(inputs) == set(DEFAULTS) | {"input_pattern"}
    assert inputs["use_tpu"]["defaultValue"] is False

    def fed_by(task: str, component_input: str) -> str:
        return tasks[task]["inputs"]["parameters"][component_input]["componentInputParameter"]

    # The baseline reaches the evaluator, warm_start_from the trainer, TPU settings the trainer.
    assert fed_by("evaluator", "baseline_model_dir") == "baseline_model_uri"
    assert fed_by("evaluator", "batch_size") == "eval_batch_size"
    assert fed_by("trainer", "warm_start_from") == "warm_start_from"
    for name in ("use_tpu", "tpu", "num_shards"):
        assert fed_by("trainer", name) == name
    # The run's declared outputs: the model, the evaluation, the blessing and the push record.
    outputs = spec["root"]["outputDefinitions"]["artifacts"]
    assert set(outputs) == {"model", "evaluation", "blessing", "pushed_model"}


def test_cli_compile_writes_what_compile_pipeline_writes(tmp_path, capsys):
    out = tmp_path / "out" / "pipeline.yaml"
    assert main(["pipeline", "compile", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    expected = compile_pipeline(str(tmp_path / "expected.yaml"))
    assert out.read_text() == Path(expected).read_text()


def test_image_override_reaches_the_compiled_pipeline(tmp_path, monkeypatch):
    import importlib

    import components.evaluator.component as ev
    import components.exporter.component as ex
    import components.prepare.component as pr
    import components.trainer.component as tr
    import pipelines.compile as cp
    import pipelines.report_component as rc
    import pipelines.training_pipeline as tp

    monkeypatch.setenv("TPUEST_IMAGE", "registry.example/tpuest:test")
    try:
        for module in (pr, tr, ev, ex, rc, tp, cp):
            importlib.reload(module)
        spec = yaml.safe_load(Path(cp.compile_pipeline(str(tmp_path / "p.yaml"))).read_text())
        images = {
            e["container"]["image"]
            for e in spec["deploymentSpec"]["executors"].values()
            if "container" in e
        }
        assert images == {"registry.example/tpuest:test"}
    finally:
        monkeypatch.delenv("TPUEST_IMAGE")
        for module in (pr, tr, ev, ex, rc, tp, cp):
            importlib.reload(module)
