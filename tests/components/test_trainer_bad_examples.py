"""Damaged or mismatched training examples: clear errors naming the file or key, nothing lost."""

import glob
import json
import os
import shutil
from pathlib import Path

import pytest
import tensorflow as tf

from components import trainer
from tests.components import penguins_fixtures

penguins_examples = penguins_fixtures.penguins_examples


def copy_examples(src, dst):
    shutil.copytree(src, dst)
    return str(dst)


def test_a_truncated_tfrecord_is_named_and_the_model_dir_is_intact(penguins_examples, tmp_path):
    examples = copy_examples(penguins_examples, tmp_path / "examples")
    model_dir = str(tmp_path / "model")
    trainer.run(examples, model_dir, train_steps=20, seed=0)
    before = tf.train.latest_checkpoint(model_dir)
    [train_file] = glob.glob(f"{examples}/Split-train/*.tfrecord.gz")[:1]
    with open(train_file, "r+b") as f:
        f.truncate(os.path.getsize(train_file) // 2)
    with pytest.raises(ValueError, match=os.path.basename(train_file)):
        trainer.run(examples, model_dir, train_steps=400, seed=0)
    # Whether tf.data failed at once or read a short stream first, every checkpoint stays readable.
    latest = tf.train.latest_checkpoint(model_dir)
    assert latest and tf.train.load_checkpoint(latest).get_variable_to_shape_map()
    assert tf.train.load_checkpoint(before).get_variable_to_shape_map()


def test_examples_that_do_not_match_the_schema_name_the_key(penguins_examples, tmp_path):
    examples = copy_examples(penguins_examples, tmp_path / "examples")
    schema_path = os.path.join(examples, "schema.json")
    schema = json.loads(Path(schema_path).read_text())
    for column in schema["columns"]:
        if column["name"] == "bill_length_mm":
            column["type"] = "string"  # stored as floats in the TFRecords
    Path(schema_path).write_text(json.dumps(schema))
    with pytest.raises(ValueError, match="bill_length_mm"):
        trainer.run(examples, str(tmp_path / "model"), train_steps=20, seed=0)
