"""tpuest migrate on a small TF1 tf.contrib.tpu project: the result trains, evaluates, predicts."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

from pipelines.tpuest import main

# The project as a TPU-era user wrote it (TF 1.x: two-space indents, tf.contrib, tf.flags).
PROJECT = {
    "data.py": r"""
# Tiny CSV data for the TF1 project: y = 1 when x0 + x1 > 0.
import numpy as np
import tensorflow as tf


def write_csv(path, rows, seed):
  rng = np.random.RandomState(seed)
  x = rng.normal(size=(rows, 2)).astype(np.float32)
  with tf.gfile.GFile(path, "w") as f:
    for a, b in x:
      f.write("%f,%f,%d\n" % (a, b, int(a + b > 0)))


def make_input_fn(pattern, is_training):
  def input_fn(params):
    batch_size = params["batch_size"]
    files = tf.gfile.Glob(pattern)
    d = tf.data.TextLineDataset(files)
    if is_training:
      d = d.repeat()
    def parse(line):
      a, b, y = tf.decode_csv(line, [[0.0], [0.0], [0]])
      return {"x": tf.stack([a, b])}, tf.to_int32(y)
    d = d.apply(tf.contrib.data.map_and_batch(parse, batch_size=batch_size,
                                              drop_remainder=True))
    return d
  return input_fn
""",
    "model.py": r"""
# A two-layer classifier with layer norm, written for tf.contrib.tpu.
import tensorflow as tf


def model_fn(features, labels, mode, params):
  x = features["x"]
  width = x.shape[-1].value
  h = tf.layers.dense(x, 8 * width, activation=tf.nn.relu, name="hidden")
  with tf.variable_scope("block"):
    h = tf.contrib.layers.layer_norm(h, begin_norm_axis=-1, begin_params_axis=-1)
  logits = tf.layers.dense(h, 2, name="logits")
  if mode == tf.estimator.ModeKeys.PREDICT:
    return tf.contrib.tpu.TPUEstimatorSpec(
        mode, predictions={"class": tf.argmax(logits, axis=-1), "logits": logits})
  loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
  if mode == tf.estimator.ModeKeys.TRAIN:
    opt = tf.train.GradientDescentOptimizer(params["learning_rate"])
    if params["use_tpu"]:
      opt = tf.contrib.tpu.CrossShardOptimizer(opt)
    train_op = opt.minimize(loss, global_step=tf.train.get_global_step())
    def host_call_fn(gs, loss):
      gs = gs[0]
      with tf.contrib.summary.create_file_writer(params["model_dir"]).as_default():
        with tf.contrib.summary.always_record_summaries():
          tf.contrib.summary.scalar("host_loss", loss[0], step=gs)
          return tf.contrib.summary.all_summary_ops()
    host_args = [tf.reshape(tf.train.get_global_step(), [1]), tf.reshape(loss, [1])]
    return tf.contrib.tpu.TPUEstimatorSpec(mode, loss=loss, train_op=train_op,
                                           host_call=(host_call_fn, host_args))

  def metric_fn(labels, logits):
    return {"accuracy": tf.metrics.accuracy(labels, tf.argmax(logits, axis=-1))}

  return tf.contrib.tpu.TPUEstimatorSpec(
      mode, loss=loss, eval_metrics=(metric_fn, [labels, logits]))
""",
    "run.py": r"""
# Trains, evaluates and predicts the tiny model (TF1, tf.contrib.tpu era).
import os

import tensorflow as tf

import data
import model

flags = tf.flags
FLAGS = flags.FLAGS
flags.DEFINE_string("model_dir", None, "Where checkpoints go.")
flags.DEFINE_bool("use_tpu", False, "Run on a TPU.")
flags.DEFINE_integer("train_steps", 20, "Training steps.")
flags.DEFINE_integer("iterations", 5, "Steps per TPU loop.")
tf.flags.DEFINE_string("tpu", None, "TPU name.")


def main(_):
  tf.logging.set_verbosity(tf.logging.INFO)
  tf.gfile.MakeDirs(FLAGS.model_dir)
  train_csv = os.path.join(FLAGS.model_dir, "train.csv")
  data.write_csv(train_csv, 64, seed=0)
  cluster = None
  if FLAGS.use_tpu:
    cluster = tf.contrib.cluster_resolver.TPUClusterResolver(FLAGS.tpu)
  run_config = tf.contrib.tpu.RunConfig(
      cluster=cluster,
      model_dir=FLAGS.model_dir,
      save_checkpoints_steps=10,
      tpu_config=tf.contrib.tpu.TPUConfig(
          iterations_per_loop=FLAGS.iterations,
          num_shards=8,
          per_host_input_for_training=tf.contrib.tpu.InputPipelineConfig.PER_HOST_V2))
  estimator = tf.contrib.tpu.TPUEstimator(
      model_fn=model.model_fn,
      config=run_config,
      use_tpu=FLAGS.use_tpu,
      params={"learning_rate": 0.5, "model_dir": FLAGS.model_dir},
      train_batch_size=16,
      eval_batch_size=16,
      predict_batch_size=16)
  estimator.train(data.make_input_fn(train_csv, True), max_steps=FLAGS.train_steps)
  result = estimator.evaluate(data.make_input_fn(train_csv, False), steps=4)
  tf.logging.info("eval: %s", result)
  predictions = list(estimator.predict(data.make_input_fn(train_csv, False)))
  with tf.gfile.GFile(os.path.join(FLAGS.model_dir, "result.txt"), "w") as f:
    f.write("accuracy=%f loss=%f global_step=%d predictions=%d\n" % (
        result["accuracy"], result["loss"], result["global_step"], len(predictions)))


if __name__ == "__main__":
  flags.mark_flag_as_required("model_dir")
  tf.app.run()
""",
}


@pytest.fixture
def project(tmp_path):
    root = tmp_path / "tf1_project"
    root.mkdir()
    for name, text in PROJECT.items():
        (root / name).write_text(text.lstrip("\n"))
    (root / "README.txt").write_text("not code: copied as it is\n")
    return root


@pytest.mark.slow
def test_migrated_project_trains_evaluates_and_predicts_without_edits(project, tmp_path, capsys):
    migrated = tmp_path / "migrated"
    assert main(["migrate", str(project), "--out", str(migrated)]) == 0
    out = capsys.readouterr().out
    assert "3 file(s) read, 3 changed" in out and "0 line(s) to convert by hand" in out
    assert (migrated / "README.txt").read_text() == "not code: copied as it is\n"
    report = (migrated / "tpuest_migrate_report.txt").read_text()
    assert f"{project / 'model.py'}:10: [tpuest] tf.contrib.layers.layer_norm" in report
    assert "+++ b/" in (migrated / "tpuest_migrate.diff").read_text()
    for name in PROJECT:  # the originals are untouched
        assert (project / name).read_text() == PROJECT[name].lstrip("\n")

    # Migrating the result again changes nothing; check-model agrees.
    assert main(["migrate", str(migrated), "--out", str(tmp_path / "again")]) == 0
    for name in PROJECT:
        assert (tmp_path / "again" / name).read_text() == (migrated / name).read_text()
    assert main(["check-model", str(migrated)]) == 0
    capsys.readouterr()

    model_dir = tmp_path / "model_dir"
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    done = subprocess.run(
        [sys.executable, str(migrated / "run.py"), f"--model_dir={model_dir}", "--train_steps=20"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    fields = dict(item.split("=") for item in (model_dir / "result.txt").read_text().split())
    assert int(fields["global_step"]) == 20
    assert int(fields["predictions"]) == 64  # every example of the file
    assert float(fields["accuracy"]) > 0.7  # a linearly separable toy: training worked
    names = {name for name, _ in tf.train.list_variables(str(model_dir))}
    assert {"block/LayerNorm/beta", "block/LayerNorm/gamma", "hidden/kernel"} <= names
    # host_call's tf.contrib.summary calls, now TF2 tf.summary, wrote once per loop of 5.
    steps = [
        event.step
        for path in model_dir.glob("events.out.tfevents.*.v2")
        for event in tf.compat.v1.train.summary_iterator(str(path))
        for value in event.summary.value
        if value.tag == "host_loss"
    ]
    assert sorted(steps) == [4, 9, 14, 19]
