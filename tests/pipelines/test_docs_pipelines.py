"""docs/pipelines.md cannot go stale: its commands, its TFJob's args and its parameter table are
checked against the real parser and the real pipeline (parsed only: no step's work runs)."""

import inspect
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml

from components.datasets import penguins_csv
from components.image import DEFAULT_IMAGE
from pipelines.tpuest import build_parser, main
from pipelines.training_pipeline import training_pipeline

DOC = Path(__file__).resolve().parents[2] / "docs" / "pipelines.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.S)


def tpuest_commands() -> list[list[str]]:
    """Every `tpuest ...` command of the bash blocks, continuations joined, comments dropped."""
    commands = []
    for block in blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words and words[0] == "tpuest":
                commands.append(words[1:])
    return commands


def tfjob_args() -> list[list[str]]:
    found = []
    for block in blocks("yaml"):
        job = yaml.safe_load(block)
        for replica in job["spec"]["tfReplicaSpecs"].values():
            for container in replica["template"]["spec"]["containers"]:
                assert container["image"] == DEFAULT_IMAGE  # the image the project builds
                found.append([str(a) for a in container["args"]])
    return found


@pytest.fixture
def doc_cwd(tmp_path, monkeypatch):
    """A directory where the documents' relative paths (data/*.csv, runs/) exist."""
    (tmp_path / "data").mkdir()
    shutil.copy(penguins_csv(), tmp_path / "data" / "penguins.csv")
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)


def test_the_document_has_the_examples_it_should():
    commands = tpuest_commands()
    assert [c[0] for c in commands].count("prepare") == 3  # a local job service, Dataflow, Flink
    assert all(
        any(a.startswith("--beam-option=--runner=") for a in c)
        for c in commands
        if c[0] == "prepare"
    )
    assert {"compile", "run", "runs", "submit", "schedule"} <= {
        c[1] for c in commands if c[0] == "pipeline"
    }
    assert any("--cron" in c for c in commands if c[:2] == ["pipeline", "run"])
    assert len(tfjob_args()) == 1


@pytest.mark.parametrize("argv", tpuest_commands(), ids=lambda a: " ".join(a)[:60])
def test_documented_commands_parse(argv, doc_cwd):
    args = build_parser().parse_args(argv)
    assert args.func  # a subcommand that would run


def test_tfjob_worker_args_parse_as_tpuest_train():
    [argv] = tfjob_args()
    args = build_parser().parse_args(argv)
    assert args.command == "train" and args.strategy == "multi_worker"
    assert args.examples.startswith("gs://") and args.model_dir.startswith("gs://")


def test_the_parameter_table_lists_exactly_the_pipeline_s_parameters():
    table = re.search(r"## Parameters\n\n(.*?)\n\n", DOC.read_text(), flags=re.S).group(1)
    documented = set()
    for row in table.splitlines()[2:]:
        documented.update(re.findall(r"`(\w+)`", row.split("|")[1]))
    assert documented == set(inspect.signature(training_pipeline.pipeline_func).parameters)


def kubeflow_commands() -> list[list[str]]:
    return [c for c in tpuest_commands() if c[:2] in (["pipeline", "compile"],
            ["pipeline", "submit"], ["pipeline", "schedule"])]  # fmt: skip


def test_the_kubeflow_section_runs_top_to_bottom(doc_cwd, capsys):
    """Each documented compile writes its IR with the hardware asked for; each submit and
    schedule goes through against a stand-in KFP server."""
    from tests.pipelines.fake_kfp import FakeKfp

    fake = FakeKfp()
    try:
        for argv in kubeflow_commands():
            if "--host" in argv:
                argv = list(argv)
                argv[argv.index("--host") + 1] = fake.host
            assert main(argv) == 0, (argv, capsys.readouterr().err)
    finally:
        fake.close()
    assert len(fake.runs) == 1 and len(fake.recurring) == 1
    gpu = list(yaml.safe_load_all(Path("pipeline-gpu.yaml").read_text()))
    tpu = list(yaml.safe_load_all(Path("pipeline-tpu.yaml").read_text()))
    trainer = "exec-trainer"
    assert (
        gpu[0]["deploymentSpec"]["executors"][trainer]["container"]["resources"]["accelerator"][
            "resourceType"
        ]
        == "nvidia.com/gpu"
    )
    labels = tpu[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"][trainer][
        "nodeSelector"
    ]["labels"]
    assert labels["cloud.google.com/gke-tpu-topology"] == "2x4"
