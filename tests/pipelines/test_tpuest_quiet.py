"""The CLI hides TensorFlow's start-up C++ chatter but never a real error."""

import os
import re
import subprocess
import sys

from pipelines import quiet

CHATTER = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog", re.M)


def test_tensorflow_start_up_lines_are_dropped_and_others_kept():
    text = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1795605151.407463   31061 port.cc:153] oneDNN custom operations are on.\n"
        "I0000 00:00:1795605151.407769   31061 cudart_stub.cc:31] Could not find cuda drivers\n"
        "E0000 00:00:1795605153.233060   31061 cuda_platform.cc:52] failed call to cuInit\n"
        "E0000 00:00:1795605153.233060   31061 saver.cc:1] could not open model.ckpt-5\n"
        "Traceback (most recent call last):\n"
    )
    kept = quiet.keep(text)
    assert kept == (
        "E0000 00:00:1795605153.233060   31061 saver.cc:1] could not open model.ckpt-5\n"
        "Traceback (most recent call last):\n"
    )


def test_the_cli_prints_no_tensorflow_chatter_by_default(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.tpuest", "train", "--help"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=True,
    )
    assert "--train-steps" in done.stdout
    assert not CHATTER.search(done.stderr), done.stderr
