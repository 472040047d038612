"""tpuest check-model: read-only, the same findings as tpuest migrate, exit 1 when any."""

import subprocess
import sys
import textwrap

import pytest

from pipelines.tpuest import main

LEGACY = textwrap.dedent(
    """\
    import tensorflow as tf
    flags = tf.flags
    def model_fn(features, labels, mode, params):
        # tf.contrib in a comment is fine
        x = tf.layers.dense(features["x"], 2)
        if mode == tf.estimator.ModeKeys.TRAIN:
            return tf.contrib.tpu.TPUEstimatorSpec(mode, loss=tf.reduce_sum(x))
        e = tf.estimator.LinearClassifier([])
    """
)
TOKENIZER = 'import tensorflow as tf\nwith tf.gfile.GFile("vocab.txt") as f:\n    pass\n'


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    (root / "model.py").write_text(LEGACY)
    (root / "tokenization.py").write_text(TOKENIZER)
    return root


def test_check_model_reports_what_migrate_changes_and_writes_nothing(project, capsys):
    assert main(["check-model", str(project)]) == 1
    out = capsys.readouterr().out
    model, tokenizer = project / "model.py", project / "tokenization.py"
    for line in (
        f"{model}:2: [tpuest] tf.flags -> tf.compat.v1.flags",
        f"{model}:5: [tpuest] tf.layers -> tf.compat.v1.layers",
        f"{model}:6: [tpuest] tf.estimator.ModeKeys -> estimator_core.ModeKeys",
        f"{model}:7: [tpuest] tf.contrib.tpu -> estimator_core.compat.tpu",
        f"{model}:8: MANUAL: tf.estimator.LinearClassifier: canned estimators were removed",
        f"{tokenizer}:2: [tf_upgrade_v2] tf.gfile.GFile -> tf.io.gfile.GFile",
    ):
        assert line in out, line
    assert ":4:" not in out  # the comment
    assert "2 file(s) read, 2 changed" in out and "1 line(s) to convert by hand" in out
    assert (project / "model.py").read_text() == LEGACY
    assert sorted(p.name for p in project.iterdir()) == ["model.py", "tokenization.py"]


def test_check_model_exits_0_on_migrated_code_and_takes_module_names(
    project, tmp_path, monkeypatch, capsys
):
    out_dir = tmp_path / "migrated"
    assert main(["migrate", str(project / "tokenization.py"), "--out", str(out_dir)]) == 0
    capsys.readouterr()
    assert main(["check-model", str(out_dir / "tokenization.py")]) == 0
    assert "0 changed: 0 change(s), 0 line(s) to convert by hand" in capsys.readouterr().out
    monkeypatch.syspath_prepend(str(project.parent))
    (project / "__init__.py").write_text("")
    assert main(["check-model", "project.tokenization"]) == 1
    assert f"{project / 'tokenization.py'}:2:" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["check-model", "project.no_such_module"])
    assert exit_info.value.code == 2


HELP_WITHOUT_TF = """
import sys
from pipelines.tpuest import main
for argv in (["check-model", "--help"], ["migrate", "--help"], ["migrate", "missing.py"]):
    try:
        main(argv)
    except SystemExit:
        pass
print("tensorflow imported:", "tensorflow" in sys.modules)
"""


def test_help_and_argument_errors_do_not_import_tensorflow(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", HELP_WITHOUT_TF],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=True,
    )
    assert "usage: tpuest check-model" in done.stdout and "usage: tpuest migrate" in done.stdout
    assert "missing.py does not exist" in done.stderr
    assert done.stdout.strip().endswith("tensorflow imported: False"), done.stdout
