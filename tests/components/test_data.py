"""components.data over TFRecords written by prepare: conventions, batching, corrupt files."""

import fnmatch
import math
import os
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from components import data, prepare


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    src = root / "in.csv"
    lines = ["n,x,s,y"] + [
        f"{i},{i / 4},{'abc'[i % 3]},{'yes' if i % 2 else 'no'}" for i in range(50)
    ]
    lines += ["NA,,,no"]  # every feature missing
    src.write_text("\n".join(lines) + "\n")
    out = str(root / "examples")
    result = prepare.run([str(src)], out, label="y", splits={"train": 0.6, "eval": 0.4})
    return out, result


def collect(dataset):
    batches = list(dataset.as_numpy_iterator())
    return batches


def test_eval_input_fn_keeps_the_last_partial_batch_and_follows_conventions(examples):
    out, result = examples
    input_fn = data.make_input_fn(out, "eval", os.path.join(out, "schema.json"), "y")
    batches = collect(input_fn({"batch_size": 8}))
    sizes = [len(labels) for _, labels in batches]
    assert sum(sizes) == result.counts["eval"] and sizes[-1] == (result.counts["eval"] % 8 or 8)
    features, labels = batches[0]
    assert sorted(features) == ["n", "s", "x"]
    assert features["n"].dtype == np.float32 and features["n"].shape == (8,)
    assert features["x"].dtype == np.float32
    assert features["s"].dtype == object and labels.dtype == object
    assert set(labels) <= {b"yes", b"no"}


def test_missing_values_become_nan_and_empty_string(examples):
    out, _ = examples
    rows = []
    for split in ("train", "eval"):
        input_fn = data.make_input_fn(out, split, os.path.join(out, "schema.json"), "y",
                                      shuffle=False, repeat=False)  # fmt: skip
        for features, _ in collect(input_fn({"batch_size": 100})):
            rows += list(zip(features["n"], features["x"], features["s"]))
    assert len(rows) == 51
    missing = [r for r in rows if math.isnan(r[0])]
    assert len(missing) == 1 and math.isnan(missing[0][1]) and missing[0][2] == b""
    assert sorted(r[0] for r in rows if not math.isnan(r[0])) == list(range(50))


def test_train_input_fn_shuffles_repeats_and_drops_the_remainder(examples):
    out, result = examples
    input_fn = data.make_input_fn(out, "train", os.path.join(out, "schema.json"), "y", seed=1)
    batches = list(input_fn({"batch_size": 7}).take(20).as_numpy_iterator())
    assert all(len(labels) == 7 for _, labels in batches)
    assert input_fn({"batch_size": 7}).element_spec[1].shape.as_list() == [7]


def test_works_in_a_v1_graph_session(examples):
    out, _ = examples
    input_fn = data.make_input_fn(out, "eval", os.path.join(out, "schema.json"), "y")
    with tf.Graph().as_default():
        features, labels = tf.compat.v1.data.make_one_shot_iterator(
            input_fn({"batch_size": 4})
        ).get_next()
        with tf.compat.v1.Session() as session:
            values, label_values = session.run([features, labels])
    assert values["x"].shape == (4,) and label_values.shape == (4,)


def test_unlabeled_input_fn_and_serving_parse_leave_the_label_out(examples):
    out, _ = examples
    schema = os.path.join(out, "schema.json")
    batch = next(iter(data.make_input_fn(out, "eval", schema)({"batch_size": 3})))
    assert sorted(batch) == ["n", "s", "x"]
    example = tf.train.Example()
    example.features.feature["x"].float_list.value.append(2.5)
    parsed = data.parse_examples(
        tf.constant([example.SerializeToString()]), schema, include_label=False
    )
    assert parsed["x"].numpy().tolist() == [2.5] and math.isnan(parsed["n"].numpy()[0])
    assert parsed["s"].numpy().tolist() == [b""] and "y" not in parsed
    spec = data.feature_spec(schema)
    assert isinstance(spec["n"], tf.io.VarLenFeature) and spec["n"].dtype == tf.int64
    assert spec["y"] == tf.io.FixedLenFeature([], tf.string)


def test_empty_value_lists_read_as_missing_like_absent_features(examples):
    # A TFX ExampleGen writes a missing CSV cell as a feature with an empty value list.
    out, _ = examples
    example = tf.train.Example()
    example.features.feature["s"].bytes_list.value[:] = []
    example.features.feature["x"].float_list.value[:] = []
    example.features.feature["n"].int64_list.value[:] = []
    full = tf.train.Example()
    full.features.feature["s"].bytes_list.value.append(b"a")
    full.features.feature["x"].float_list.value.append(1.5)
    parsed = data.parse_examples(
        tf.constant([example.SerializeToString(), full.SerializeToString()]),
        os.path.join(out, "schema.json"),
        include_label=False,
    )
    assert parsed["s"].numpy().tolist() == [b"", b"a"]
    assert math.isnan(parsed["x"].numpy()[0]) and abs(parsed["x"].numpy()[1] - 1.5) < 1e-6
    assert math.isnan(parsed["n"].numpy()[0]) and math.isnan(parsed["n"].numpy()[1])


def test_truncated_file_is_named(examples, tmp_path):
    out, _ = examples
    copy = tmp_path / "copy"
    for split in ("eval",):
        (copy / f"Split-{split}").mkdir(parents=True)
        [name] = fnmatch.filter(os.listdir(os.path.join(out, f"Split-{split}")), "*.gz")
        payload = Path(out, f"Split-{split}", name).read_bytes()
        (copy / f"Split-{split}" / name).write_bytes(payload[: len(payload) // 2])
    with pytest.raises(ValueError, match=f"{name}: corrupt or truncated gzip TFRecord"):
        data.check_tfrecords(str(copy), "eval")
    assert data.check_tfrecords(out, "train") > 0
    with pytest.raises(FileNotFoundError, match="Split-test"):
        data.make_input_fn(out, "test", os.path.join(out, "schema.json"))
