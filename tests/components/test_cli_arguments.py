"""Every `tpuest` argument given a bad value exits 2 naming it, without a traceback, before any work.

The arguments are collected from the real parser (sub-subcommands included), so a new argument
without a bad-value case below (or a listed exemption) fails
test_every_argument_has_a_bad_value_case_or_an_exemption.
"""

import argparse

import pytest

import components.evaluator
import components.exporter
import components.prepare
import components.trainer
import pipelines.compile
import pipelines.local
import pipelines.schedule
from components.datasets import penguins_csv
from pipelines.tpuest import build_parser, main
from tests.pipelines import cli_cases

# Arguments that take no value, so there is no bad value to give; "--help" is on every parser.
EXEMPT_EVERYWHERE = {"--help": "prints the usage and exits 0; takes no value"}
EXEMPT = {
    ("", "--verbose"): "a flag without a value",
    ("", "--legacy-keras"): "a flag without a value",
    ("prepare", "--overwrite"): "a flag without a value",
    ("train", "--use-tpu"): "a flag without a value",
    ("export", "--force"): "a flag without a value",
    ("pipeline run", "--local"): "a flag without a value",
    ("pipeline run", "--warm-start"): "a flag without a value",
    ("pipeline schedule", "--catchup"): "a flag without a value",
    ("migrate", "--in-place"): "a flag without a value",
    ("migrate", "--diff"): "a flag without a value",
}

# Valid arguments each case starts from; "{name}" are paths made by the `paths` fixture.
BASE = {
    "": [],
    "demo": ["demo"],
    "prepare": ["prepare", "--input", "{csv}", "--output", "{out}"],
    "train": ["train", "--examples", "{examples}", "--model-dir", "{out}", "--train-steps", "5"],
    "evaluate": ["evaluate", "--examples", "{examples}", "--model-dir", "{model}", "--output", "{out}"],
    "export": ["export", "--model-dir", "{model}", "--export-base", "{out}", "--force"],
    "pipeline": ["pipeline"],
    "pipeline compile": ["pipeline", "compile"],
    "pipeline run": ["pipeline", "run", "--local", "--input", "{csv}", "--root", "{out}"],
    "pipeline runs": ["pipeline", "runs", "--root", "{dir}"],
    "pipeline schedule": ["pipeline", "schedule", "--host", "http://127.0.0.1:9",
                          "--experiment", "e", "--cron", "0 0 */6 * * *"],
    "check-model": ["check-model"],
    "migrate": ["migrate"],
}  # fmt: skip
# What makes BASE a complete command line where a required positional is missing from it.
COMPLETE = {
    "": ["pipeline", "compile"],
    "pipeline": ["compile"],
    "check-model": ["json"],
    "migrate": ["{dir}"],
}

# (command, argument, what is appended to BASE[command]): the last value of an option wins.
CASES = [
    ("", "COMMAND", ["nope"]),
    ("demo", "--root", ["--root", "{file}"]),
    ("demo", "--train-steps", ["--train-steps", "0"]),
    ("demo", "--train-steps", ["--train-steps", "x"]),
    ("prepare", "INPUT", ["{missing}.csv"]),
    ("prepare", "--input", ["--input", "{missing}/*.csv"]),
    ("prepare", "--output", ["--output", "{file}"]),
    ("prepare", "--output", ["--output", "{file}/examples"]),
    ("prepare", "--label", ["--label", "nosuch"]),
    ("prepare", "--label", ["--label", ""]),
    ("prepare", "--schema", ["--schema", "{missing}.json"]),
    ("prepare", "--format", ["--format", "xml"]),
    ("prepare", "--split-key", ["--split-key", "nosuch"]),
    ("prepare", "--splits", ["--splits", "train=0.5,eval=0.2"]),
    ("prepare", "--splits", ["--splits", "train=0.8,eval"]),
    ("prepare", "--max-bad-fraction", ["--max-bad-fraction", "1.5"]),
    ("prepare", "--max-bad-fraction", ["--max-bad-fraction", "nan"]),
    ("prepare", "--direct-num-workers", ["--direct-num-workers", "-1"]),
    ("prepare", "--direct-running-mode", ["--direct-running-mode", "fast"]),
    ("prepare", "--beam-option", ["--beam-option", "runner=DirectRunner"]),
    ("prepare", "--max-line-bytes", ["--max-line-bytes", "0"]),
    ("train", "--examples", ["--examples", "{missing}"]),
    ("train", "--examples", ["--examples", "{file}"]),
    ("train", "--model-dir", ["--model-dir", "{file}"]),
    ("train", "--module-file", ["--module-file", "{missing}.py"]),
    ("train", "--module-file", ["--module-file", "no_such_package.model"]),
    ("train", "--train-steps", ["--train-steps", "0"]),
    ("train", "--train-steps", ["--train-steps", "-3"]),
    ("train", "--train-steps", ["--train-steps", "1e3"]),
    ("train", "--train-batch-size", ["--train-batch-size", "0"]),
    ("train", "--iterations-per-loop", ["--iterations-per-loop", "0"]),
    ("train", "--iterations-per-loop", ["--iterations-per-loop", "soon"]),
    ("train", "--replicas", ["--replicas", "0"]),
    ("train", "--strategy", ["--strategy", "ring"]),
    ("train", "--tpu", ["--tpu", "my-tpu"]),  # without --use-tpu
    ("train", "--tpu", ["--use-tpu", "--tpu", ""]),
    ("train", "--num-shards", ["--use-tpu", "--num-shards", "0"]),
    ("train", "--warm-start-from", ["--warm-start-from", "{missing}"]),
    ("train", "--params", ["--params", "learning_rate"]),
    ("train", "--params", ["--params", "=3"]),
    ("train", "--params", ["--params", "schema_path=x"]),
    ("train", "--seed", ["--seed", "x"]),
    ("train", "--save-checkpoints-steps", ["--save-checkpoints-steps", "0"]),
    ("train", "--loop-timeout-secs", ["--loop-timeout-secs", "0"]),
    ("train", "--loop-timeout-secs", ["--loop-timeout-secs", "inf"]),
    ("train", "--loop-timeout-secs", ["--loop-timeout-secs", "x"]),
    ("train", "--checkpoint-dir", ["--checkpoint-dir", "{file}"]),
    ("evaluate", "--examples", ["--examples", "{missing}"]),
    ("evaluate", "--model-dir", ["--model-dir", "{missing}"]),
    ("evaluate", "--output", ["--output", "{file}"]),
    ("evaluate", "--checkpoint", ["--checkpoint", "{model}/model.ckpt-1"]),
    ("evaluate", "--module-file", ["--module-file", "{missing}.py"]),
    ("evaluate", "--split", ["--split", "test"]),
    ("evaluate", "--split", ["--split", ""]),
    ("evaluate", "--threshold", ["--threshold", "accuracy=>0.9"]),
    ("evaluate", "--threshold", ["--threshold", "accuracy>=nan"]),
    ("evaluate", "--baseline-model-dir", ["--baseline-model-dir", "{missing}"]),
    ("evaluate", "--compare-metric", ["--compare-metric", ""]),
    ("evaluate", "--tolerance", ["--tolerance", "-0.1"]),
    ("evaluate", "--tolerance", ["--tolerance", "nan"]),
    ("evaluate", "--slice-by", ["--slice-by", ""]),
    ("evaluate", "--batch-size", ["--batch-size", "0"]),
    ("export", "--model-dir", ["--model-dir", "{missing}"]),
    ("export", "--export-base", ["--export-base", "{file}"]),
    ("export", "--evaluation", ["--evaluation", "{missing}"]),
    ("export", "--checkpoint", ["--checkpoint", "{missing}"]),
    ("export", "--module-file", ["--module-file", "{missing}.py"]),
    ("pipeline", "ACTION", ["nope"]),
    ("pipeline compile", "--output", ["--output", "{dir}"]),
    ("pipeline compile", "--output", ["-o", "{file}/pipeline.yaml"]),
    ("pipeline run", "--input", ["--input", "{missing}/*.csv"]),
    ("pipeline run", "--root", ["--root", "{file}"]),
    ("pipeline run", "--label", ["--label", "nosuch"]),
    ("pipeline run", "--module-file", ["--module-file", "{missing}.py"]),
    ("pipeline run", "--train-steps", ["--train-steps", "0"]),
    ("pipeline run", "--train-batch-size", ["--train-batch-size", "-1"]),
    ("pipeline run", "--eval-batch-size", ["--eval-batch-size", "0"]),
    ("pipeline run", "--iterations-per-loop", ["--iterations-per-loop", "0"]),
    ("pipeline run", "--replicas", ["--replicas", "0"]),
    ("pipeline run", "--threshold", ["--threshold", "accuracy"]),
    ("pipeline run", "--beam-options", ["--beam-options", "runner=DirectRunner"]),
    ("pipeline run", "--beam-options", ["--beam-options=--job_name='unclosed"]),
    ("pipeline run", "--every", ["--every", "soon"]),
    ("pipeline run", "--every", ["--every", "0s"]),
    ("pipeline run", "--every", ["--every", "nans"]),
    ("pipeline run", "--cron", ["--cron", "* * * *"]),
    ("pipeline run", "--cron", ["--cron", "61 * * * *"]),
    ("pipeline run", "--cron", ["--cron", "0 0 30 2 *"]),
    ("pipeline run", "--cron", ["--every", "6h", "--cron", "0 */6 * * *"]),
    ("pipeline runs", "--root", ["--root", "{missing}"]),
    ("pipeline schedule", "--host", ["--host", "kfp:8888"]),
    ("pipeline schedule", "--experiment", ["--experiment", ""]),
    ("pipeline schedule", "--cron", ["--cron", "0 */6 * * *"]),
    ("pipeline schedule", "--name", ["--name", " "]),
    ("pipeline schedule", "--param", ["--param", "input_pattern"]),
    ("pipeline schedule", "--max-concurrency", ["--max-concurrency", "0"]),
    ("check-model", "module", ["{missing}.py"]),
    ("check-model", "module", ["no_such_package.model"]),
    ("migrate", "paths", ["{missing}"]),
    ("migrate", "paths", ["{file}"]),
    ("migrate", "--out", ["{dir}", "--out", "{file}"]),
    ("migrate", "--out", ["{dir}", "--out", ""]),
]
# The `tpuest pipeline` flags derived from the pipeline's parameters, hardware and KFP server.
BASE.update(cli_cases.BASE)
CASES += cli_cases.CASES
EXEMPT.update(cli_cases.EXEMPT)


def _name(action: argparse.Action) -> str:
    """How argparse names the argument in its errors: the long option, else the metavar."""
    if action.option_strings:
        return max(action.option_strings, key=len)
    return action.metavar or action.dest


def collect_arguments(parser: argparse.ArgumentParser, command: str = ""):
    """{(command, name): action} for every argument of the parser and of its subparsers.

    argparse has no public API to list a parser's arguments: `_actions` is the list it
    parses with, and a subparsers action holds its parsers in `choices`.
    """
    found = {}
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue  # EXEMPT_EVERYWHERE
        found[(command, _name(action))] = action
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(collect_arguments(sub, f"{command} {name}".strip()))
    return found


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    """Paths for the cases: valid inputs, a missing path and a regular file."""
    tmp = tmp_path_factory.mktemp("cli")
    examples = tmp / "examples"
    for split in ("train", "eval"):
        (examples / f"Split-{split}").mkdir(parents=True)
    for name in ("schema.json", "stats.json"):
        (examples / name).write_text("{}")
    (tmp / "model").mkdir()
    (tmp / "file.txt").write_text("not a directory\n")
    return {
        "csv": penguins_csv(),
        "examples": str(examples),
        "model": str(tmp / "model"),
        "out": str(tmp / "out"),
        "dir": str(tmp),
        "file": str(tmp / "file.txt"),
        "missing": str(tmp / "missing"),
    }


@pytest.fixture(autouse=True)
def no_work(monkeypatch):
    """Every step's work fails the test: bad values must be refused before it starts."""

    def refuse(*args, **kwargs):
        raise AssertionError("the step's work started")

    for module, name in [
        (components.prepare, "run"),
        (components.trainer, "run"),
        (components.evaluator, "run"),
        (components.exporter, "run"),
        (pipelines.local, "run_local"),
        (pipelines.schedule, "schedule"),
        (pipelines.compile, "compile_pipeline"),
        *cli_cases.WORK,
    ]:
        monkeypatch.setattr(module, name, refuse)


def run_main(argv, capsys) -> tuple[object, str, str]:
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


def test_every_argument_has_a_bad_value_case_or_an_exemption():
    collected = collect_arguments(build_parser())
    covered = {(command, name) for command, name, _ in CASES}
    assert not set(collected) - covered - set(EXEMPT), "add a bad-value case (or an exemption)"
    assert not covered - set(collected), "a case names an argument the parser does not have"
    assert set(EXEMPT) <= set(collected), "an exemption names an argument that is gone"
    assert set(BASE) == {command for command, _ in collected}


def test_only_arguments_without_a_value_are_exempt():
    collected = collect_arguments(build_parser())
    assert [key for key in EXEMPT if collected[key].nargs != 0] == []


@pytest.mark.parametrize("command", sorted(BASE))
def test_the_valid_base_arguments_parse(command, paths):
    argv = [a.format(**paths) for a in BASE[command] + COMPLETE.get(command, [])]
    build_parser().parse_args(argv)


@pytest.mark.parametrize(
    "command, argument, bad", CASES, ids=[f"{c or 'tpuest'} {' '.join(b)}" for c, _, b in CASES]
)
def test_a_bad_value_exits_2_naming_the_argument(command, argument, bad, paths, capsys):
    argv = [a.format(**paths) for a in BASE[command] + bad]
    code, out, err = run_main(argv, capsys)
    assert code == 2, f"exit {code}: {err}"
    assert argument in err, err
    assert "Traceback" not in out + err
