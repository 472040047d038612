"""The prepare KFP component in a real kfp.local subprocess run."""

import json
import os

import pytest

from components.datasets import penguins_csv


@pytest.mark.slow
def test_prepare_component_writes_the_examples_artifact(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # kfp.local leaves its temp dirs here
    from kfp import local

    from components.prepare.component import prepare

    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path / "root"))
    task = prepare(input_pattern=penguins_csv(), label="species", splits="train=0.75,eval=0.25")
    examples = task.outputs["examples"]
    path = examples.path
    assert sorted(os.listdir(path)) == [
        "Split-eval",
        "Split-train",
        "dead_letter",
        "schema.json",
        "schema.pbtxt",
        "statistics",
        "stats.json",
    ]
    with open(os.path.join(path, "stats.json")) as f:
        stats = json.load(f)
    assert examples.metadata["input_rows"] == 344
    assert examples.metadata["counts"] == {
        "train": stats["num_rows"]["train"],
        "eval": stats["num_rows"]["eval"],
    }
    train_files = os.listdir(os.path.join(path, "Split-train"))
    # Only TFRecords in a split: TFX reads every file there as one.
    assert train_files and all(f.endswith(".tfrecord.gz") for f in train_files)
    assert os.path.isfile(os.path.join(path, "statistics", "Split-train", "FeatureStats.pb"))
