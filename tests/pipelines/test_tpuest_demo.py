"""`tpuest` entry point: the demo end to end, exit codes and help."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow as tf

from pipelines.tpuest import main


@pytest.mark.slow
def test_demo_runs_the_pipeline_to_a_blessed_export_that_serves(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert main(["demo", "--root", str(tmp_path / "demo"), "--train-steps", "300"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    [record] = json.loads((tmp_path / "demo" / "index.json").read_text())
    assert record["blessed"] is True and record["metrics"]["accuracy"] > 0.9
    # The printed summary: metrics, the blessing and why, where the export and report went.
    lines = {}
    for line in out.splitlines():
        key, _, value = line.partition(": ")
        lines[key.strip()] = value.strip()  # the summary comes last: its lines win
    assert f"accuracy={record['metrics']['accuracy']:.4f}" in lines["metrics"]
    assert lines["BLESSED"] == record["blessing_reason"] and record["blessing_reason"]
    assert lines["export"] == record["export_path"] and os.path.isdir(lines["export"])
    assert os.path.isfile(lines["report"])
    # kfp.local's task chatter is in the run's log; the terminal shows one line per task.
    assert lines["log"] == record["log"] and "executor_input" in Path(record["log"]).read_text()
    assert "executor_input" not in out + captured.err
    assert "  trainer: SUCCESS (" in captured.err
    loaded = tf.saved_model.load(record["export_path"])
    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                "island": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"Biscoe"])),
                "bill_length_mm": tf.train.Feature(float_list=tf.train.FloatList(value=[48.6])),
                "bill_depth_mm": tf.train.Feature(float_list=tf.train.FloatList(value=[16.0])),
                "flipper_length_mm": tf.train.Feature(int64_list=tf.train.Int64List(value=[230])),
                "body_mass_g": tf.train.Feature(int64_list=tf.train.Int64List(value=[5800])),
                "sex": tf.train.Feature(bytes_list=tf.train.BytesList(value=[b"male"])),
                "year": tf.train.Feature(int64_list=tf.train.Int64List(value=[2009])),
            }
        )
    )
    served = loaded.signatures["serving_default"](
        examples=tf.constant([example.SerializeToString()])
    )
    names = [v for k, v in served.items() if v.dtype == tf.string]
    assert any(b"Gentoo" in n.numpy().ravel().tolist() for n in names), served


@pytest.mark.parametrize(
    "argv", [["demo", "--train-steps", "0"], ["demo", "--train-steps", "x"], ["nope"]]
)
def test_bad_arguments_exit_2_without_traceback(argv):
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.tpuest", *argv], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "error" in proc.stderr


def test_help_lists_examples(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--help"])
    assert exit_info.value.code == 0
    assert "tpuest demo --root" in capsys.readouterr().out
