"""`tpuest prepare`: exit codes, help, pass-through Beam flags."""

import json
import subprocess
import sys

import pytest

from components.datasets import penguins_csv
from pipelines.tpuest import main


def test_prepare_penguins_from_the_cli(tmp_path, capsys):
    out = tmp_path / "examples"
    argv = ["prepare", "--input", penguins_csv(), "--output", str(out), "--label", "species",
            "--splits", "train=0.7,eval=0.2,test=0.1", "--beam-option=--job_name=prepare-test"]  # fmt: skip
    assert main(argv) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["num_rows"]["input"] == 344 and set(stats["num_rows"]) >= {"train", "eval", "test"}
    printed = capsys.readouterr().out.splitlines()  # the run summary
    assert printed[0].startswith(f"Examples at {out}: train=")
    assert "(344 rows read from 1 file(s) in " in printed[0]
    assert printed[1:] == [
        "  dead letters: 0",
        f"  schema: {out}/schema.json (TFX: {out}/schema.pbtxt)",
        f"  statistics: {out}/stats.json (TFX: {out}/statistics/Split-<split>/FeatureStats.pb)",
    ]
    assert main(argv) == 1  # the output is not empty now
    assert "exists and is not empty" in capsys.readouterr().err
    assert main([*argv, "--overwrite"]) == 0


@pytest.mark.parametrize(
    "extra",
    [
        ["--splits", "train=0.8,eval"],
        ["--splits", "train=0.5,eval=0.2"],
        ["--max-bad-fraction", "2"],
        ["--direct-num-workers", "-1"],
        ["--direct-running-mode", "fast"],
    ],
)
def test_bad_values_exit_2_without_traceback(tmp_path, extra):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.tpuest",
            "prepare",
            penguins_csv(),
            "--output",
            str(tmp_path / "o"),
            *extra,
        ],  # fmt: skip
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "error" in proc.stderr


def test_no_input_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["prepare", "--output", str(tmp_path / "o")])
    assert info.value.code == 2
    assert "at least one INPUT" in capsys.readouterr().err


def test_help_shows_an_example(capsys):
    with pytest.raises(SystemExit) as info:
        main(["prepare", "--help"])
    assert info.value.code == 0
    assert "tpuest prepare components/datasets/penguins.csv" in capsys.readouterr().out
