"""The pipeline face of the steps' arguments: every step field reaches its task in the compiled
pipeline or is listed with the reason it does not, and every pipeline parameter is a flag of
`tpuest pipeline run`, `compile`, `submit` and `schedule` (read from the real parser and IR)."""

from pathlib import Path

import pytest
import yaml

from components import step_args
from components.exporter.args import ExporterArgs
from pipelines.cli import SET_BY_LOCAL_RUN
from pipelines.compile import compile_pipeline
from pipelines.local import SET_BY_RUN_LOCAL
from pipelines.parameters import FEEDS, LEFT_OUT, OWN_HELP, STEP_ARGS, flag_of
from pipelines.tpuest import main
from pipelines.training_pipeline import DEFAULTS, PARAMETERS
from tests.pipelines.fake_kfp import FakeKfp

ARGS = {**STEP_ARGS, "exporter": ExporterArgs}


@pytest.fixture(scope="module")
def ir(tmp_path_factory):
    path = tmp_path_factory.mktemp("ir") / "pipeline.yaml"
    return yaml.safe_load(Path(compile_pipeline(str(path))).read_text())


@pytest.mark.parametrize("step", sorted(ARGS))
def test_every_step_field_reaches_its_task_or_is_left_out_with_a_reason(ir, step):
    task_inputs = set(ir["root"]["dag"]["tasks"][step]["inputs"].get("parameters", {}))
    fields = set(step_args.fields(ARGS[step]))
    left_out = LEFT_OUT[step]
    assert fields - task_inputs == set(left_out), "a field the pipeline leaves out needs a reason"
    assert all(reason.strip() for reason in left_out.values())


def test_every_pipeline_parameter_feeds_a_step_field_or_has_its_own_help():
    assert set(FEEDS) | set(OWN_HELP) == set(PARAMETERS)
    for name, (step, field) in FEEDS.items():
        assert field in step_args.fields(STEP_ARGS[step]), f"{name} feeds no field {step}.{field}"


def help_of(command: str, capsys) -> str:
    """What `tpuest pipeline COMMAND --help` prints."""
    with pytest.raises(SystemExit) as exit_info:
        main(["pipeline", command, "--help"])
    assert exit_info.value.code == 0
    return capsys.readouterr().out


def test_pipeline_run_help_lists_every_pipeline_parameter(capsys):
    text = help_of("run", capsys)
    assert set(SET_BY_LOCAL_RUN) == set(SET_BY_RUN_LOCAL) - {"input_pattern"}
    for name in PARAMETERS:
        if name in SET_BY_LOCAL_RUN:
            assert f"{name}: {SET_BY_LOCAL_RUN[name]}" in text  # and how the run sets it
        else:
            assert f"{flag_of(name)} " in text, name


@pytest.mark.parametrize("command", ["compile", "submit", "schedule"])
def test_kubeflow_commands_have_a_flag_for_every_pipeline_parameter(command, capsys):
    text = help_of(command, capsys)
    assert [name for name in PARAMETERS if f"{flag_of(name)} " not in text] == []


def test_compile_flags_become_the_compiled_defaults(tmp_path):
    out = tmp_path / "p.yaml"
    argv = ["pipeline", "compile", "-o", str(out), "--train-steps", "50", "--seed", "7"]
    argv += ["--params", "learning_rate=0.01", "--no-use-tpu", "--threshold", "loss<=0.5"]
    argv += [
        "--save-checkpoints-steps",
        "25",
        "--loop-timeout-secs",
        "600",
        "--strategy",
        "mirrored",
    ]
    argv += ["--replicas", "2", "--input", "gs://bucket/*.csv"]
    assert main(argv) == 0
    inputs = yaml.safe_load(out.read_text())["root"]["inputDefinitions"]["parameters"]
    defaults = {name: spec.get("defaultValue") for name, spec in inputs.items()}
    assert defaults["train_steps"] == 50 and defaults["seed"] == 7
    assert defaults["params"] == {"learning_rate": 0.01}
    assert defaults["thresholds"] == ["loss<=0.5"]
    assert defaults["save_checkpoints_steps"] == 25 and defaults["loop_timeout_secs"] == 600
    assert defaults["strategy"] == "mirrored" and defaults["replicas"] == 2
    assert defaults["input_pattern"] == "gs://bucket/*.csv"
    assert defaults["eval_batch_size"] == DEFAULTS["eval_batch_size"]  # untouched


def test_trainer_parameters_reach_the_trainer_task(ir):
    trainer = ir["root"]["dag"]["tasks"]["trainer"]["inputs"]["parameters"]
    for name in ("strategy", "params", "save_checkpoints_steps", "loop_timeout_secs",
                 "iterations_per_loop_budget", "checkpoint_dir", "seed", "num_shards"):  # fmt: skip
        assert trainer[name]["componentInputParameter"] == name


def test_a_durable_checkpoint_dir_gets_a_directory_per_run(tmp_path):
    out = tmp_path / "p.yaml"
    assert main(["pipeline", "compile", "-o", str(out), "--checkpoint-dir", "gs://b/ckpt"]) == 0
    trainer = yaml.safe_load(out.read_text())["root"]["dag"]["tasks"]["trainer"]
    given = trainer["inputs"]["parameters"]["checkpoint_dir"]["runtimeValue"]["constant"]
    # The pipeline's checkpoint_dir, then KFP's run id: every retry of a run finds the same
    # directory, and no run of a schedule resumes another's.
    assert (
        given
        == "{{$.inputs.parameters['pipelinechannel--checkpoint_dir']}}/{{$.pipeline_job_uuid}}"
    )


def test_submit_flags_and_params_reach_the_run_and_clash_when_given_twice(capsys):
    fake = FakeKfp()
    try:
        argv = ["pipeline", "submit", "--host", fake.host, "--experiment", "e"]
        argv += ["--input", "gs://b/*.csv", "--seed", "3", "--param", "tolerance=0.01"]
        assert main(argv) == 0
        [run] = fake.runs.values()
        assert run["runtime_config"]["parameters"] == {
            "input_pattern": "gs://b/*.csv",
            "seed": 3,
            "tolerance": 0.01,
        }
        with pytest.raises(SystemExit):
            main([*argv, "--param", "seed=4"])
        assert "seed is given twice: as --seed and as --param" in capsys.readouterr().err
    finally:
        fake.close()
