"""Every bench module imports, reaches only public engine names, and has an entry point run here.

test_bench_smoke.py runs the in-repo benchmarks; this file covers the rest (client parity, the
legacy peer, prepare) and checks that no benchmark is left without a run, so a rename in the
engine cannot break the bench silently.
"""

import ast
import importlib
import os
import pkgutil
import sys
import textwrap

import pytest

import bench

LEGACY_PYTHON = "/work/legacy-venv/bin/python"
# Entry point -> the test that runs it on a tiny size.
RUN_BY = {
    "client_parity": "test_client_parity_runs_the_engine_side_of_a_resnet_shaped_client",
    "client_runs": "test_client_parity_runs_the_engine_side_of_a_resnet_shaped_client",
    "estimator_throughput": "test_estimator_throughput_reports_every_system",
    "eval_predict": "test_bench_smoke.py::test_benchmarks_run_and_report_every_system",
    "fallback_throughput": "test_bench_smoke.py::test_fallback_benchmark_reports_a_row_per_...",
    "legacy_peer": "test_legacy_peer_measures_the_mlp",
    "memory": "test_bench_smoke.py::test_benchmarks_run_and_report_every_system",
    "penguins_input": "test_bench_smoke.py::test_penguins_and_pipeline_benchmarks_report_...",
    "pipeline_steps": "test_bench_smoke.py::test_penguins_and_pipeline_benchmarks_report_...",
    "prepare_throughput": "test_prepare_throughput_runs_on_a_small_csv",
    "replica_throughput": "test_bench_smoke.py::test_benchmarks_run_and_report_every_system",
    "rounds": "test_bench_smoke.py::test_benchmarks_run_and_report_every_system",
    "train_throughput": "test_bench_smoke.py::test_benchmarks_run_and_report_every_system",
}
NOT_ENTRY_POINTS = {"__main__", "scratch"}  # __main__ only calls the mains above


def bench_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(bench.__path__))


def test_every_bench_module_imports_and_each_entry_point_has_a_run():
    runnable = set()
    for name in bench_modules():
        module = importlib.import_module(f"bench.{name}")
        if name not in NOT_ENTRY_POINTS and (hasattr(module, "main") or hasattr(module, "measure")):
            runnable.add(name)
    assert runnable == set(RUN_BY), "a bench module without a smoke run (add it to RUN_BY)"


def _engine_references(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted name) for every engine name a module imports or reaches by attribute."""
    bound, found = {}, []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "estimator_core":
                    local = alias.asname or alias.name.split(".")[0]
                    bound[local] = alias.name if alias.asname else "estimator_core"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("estimator_core"):
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
                found.append((node.lineno, f"{node.module}.{alias.name}"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            parts, value = [node.attr], node.value
            while isinstance(value, ast.Attribute):
                parts.insert(0, value.attr)
                value = value.value
            if isinstance(value, ast.Name) and value.id in bound:
                found.append((node.lineno, ".".join([bound[value.id], *parts])))
    return found


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:end]))
        except ImportError:
            continue
        for part in parts[end:]:
            if not hasattr(value, part):
                return False
            value = getattr(value, part)
        return True
    return False


def test_bench_reaches_only_public_engine_names_that_exist():
    bad = []
    for name in bench_modules():
        path = os.path.join(bench.__path__[0], f"{name}.py")
        with open(path) as f:
            tree = ast.parse(f.read())
        for line, dotted in _engine_references(tree):
            private = [p for p in dotted.split(".") if p.startswith("_") and not p.endswith("__")]
            if private or not _resolves(dotted):
                bad.append(f"bench/{name}.py:{line}: {dotted}")
    assert bad == []


# A client with resnet_main.py's shape (tensorflow/tpu models/official/resnet): absl flags,
# compat.v1 TPUEstimator, host_call with TF2 summaries, NumPy max_steps, "Eval results at step".
FAKE_RESNET_MAIN = """
from absl import app
from absl import flags
import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.compat.v1 import estimator as tf_estimator
import tensorflow.compat.v2 as tf2

FLAGS = flags.FLAGS
for _name in ("use_tpu", "tpu", "data_dir", "model_dir", "precision", "mode"):
    flags.DEFINE_string(_name, None, "")
for _name in ("resnet_depth", "train_batch_size", "eval_batch_size", "train_steps",
              "num_train_images", "num_eval_images", "image_size", "iterations_per_loop",
              "steps_per_eval", "num_label_classes"):
    flags.DEFINE_integer(_name, None, "")


def input_fn(params):
    image = tf.zeros([FLAGS.image_size, FLAGS.image_size, 3])
    data = tf.data.Dataset.from_tensors((image, tf.constant(0, tf.int32))).repeat()
    return data.batch(params["batch_size"], drop_remainder=True)


def model_fn(features, labels, mode, params):
    logits = tf.layers.dense(tf.layers.flatten(features), FLAGS.num_label_classes)
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    if mode == tf_estimator.ModeKeys.EVAL:
        def metric_fn(labels, logits):
            return {"top_1_accuracy": tf.metrics.accuracy(labels, tf.argmax(logits, 1))}
        return tf_estimator.tpu.TPUEstimatorSpec(
            mode, loss=loss, eval_metrics=(metric_fn, [labels, logits]))
    step = tf.train.get_global_step()
    train_op = tf.train.GradientDescentOptimizer(0.1).minimize(loss, step)

    def host_call_fn(gs, loss):
        with tf2.summary.create_file_writer(FLAGS.model_dir).as_default():
            tf2.summary.scalar("loss", loss[0], step=gs[0])
            return tf.summary.all_v2_summary_ops()

    host_call = (host_call_fn, [tf.reshape(step, [1]), tf.reshape(loss, [1])])
    return tf_estimator.tpu.TPUEstimatorSpec(
        mode, loss=loss, train_op=train_op, host_call=host_call)


def main(unused_argv):
    config = tf_estimator.tpu.RunConfig(
        model_dir=FLAGS.model_dir,
        tpu_config=tf_estimator.tpu.TPUConfig(iterations_per_loop=FLAGS.iterations_per_loop))
    est = tf_estimator.tpu.TPUEstimator(
        model_fn=model_fn, config=config, use_tpu=False,
        train_batch_size=FLAGS.train_batch_size, eval_batch_size=FLAGS.eval_batch_size)
    step = np.int64(0)  # resnet_main reads it from the checkpoint: a NumPy integer
    while step < FLAGS.train_steps:
        step = np.int64(min(step + FLAGS.steps_per_eval, FLAGS.train_steps))
        est.train(input_fn, max_steps=step)
        results = est.evaluate(input_fn, steps=FLAGS.num_eval_images // FLAGS.eval_batch_size)
        tf.logging.info("Eval results at step %d: %s", step, results)


if __name__ == "__main__":
    app.run(main)
"""


@pytest.mark.slow
def test_client_parity_runs_the_engine_side_of_a_resnet_shaped_client(tmp_path):
    from bench import client_parity

    models = tmp_path / "models"
    for name in client_parity.SCRIPT_CLIENTS["resnet"][0]:
        (models / name).mkdir(parents=True)
    (models / "official" / "resnet" / "resnet_main.py").parent.mkdir()
    (models / "official" / "resnet" / "resnet_main.py").write_text(
        textwrap.dedent(FAKE_RESNET_MAIN)
    )
    work = str(tmp_path / "work")
    original, migrated = client_parity._sources("resnet", str(models), work)
    assert os.path.exists(os.path.join(original, "official", "resnet", "resnet_main.py"))
    # No legacy Python in CI: the engine side alone, from its own initial weights.
    engine = client_parity._child(sys.executable, "resnet", "engine", migrated, work)
    assert engine["seconds"] > 0
    assert engine["eval"]["top_1_accuracy"] == pytest.approx(1.0, abs=1e-6)  # all labels 0
    assert engine["final_loss"] is not None
    weights = client_parity.compare_checkpoints(engine["checkpoint"], engine["checkpoint"])
    assert weights["max_abs_diff"] == 0.0 and weights["global_step"] == [4, 4]
    events = client_parity.train_events(os.path.dirname(engine["checkpoint"]))
    assert events["loss"] and set(events["loss"]) <= {0, 1, 2, 3, 4}  # host_call's TF2 summary


@pytest.mark.slow
@pytest.mark.skipif(
    not os.path.exists(LEGACY_PYTHON), reason=f"no legacy peer Python at {LEGACY_PYTHON}"
)
def test_legacy_peer_measures_the_mlp():
    from bench import legacy_peer

    result = legacy_peer.measure(LEGACY_PYTHON, steps=20, rounds=1)
    assert all(value > 0 for value in result.values() if isinstance(value, float))


@pytest.mark.slow
def test_estimator_throughput_reports_every_system():
    from bench import estimator_throughput

    result = estimator_throughput.main(["--steps", "20", "--rounds", "1", "--repeats", "1"])
    assert set(result) == {estimator_throughput.system(None), estimator_throughput.system(100)}
    assert all(r["steps_per_sec"] > 0 and r["rounds_secs"] > 0 for r in result.values())
    rows = estimator_throughput.results_lines(result)[4:]
    assert len(rows) == 2 and all(row.count("| - |") == 2 for row in rows)  # no peer: no ratio


def test_client_results_table_has_a_row_per_script():
    from bench import client_parity

    report = {"client": "resnet", "seconds": {"original": 10.0, "engine": 8.0}}
    rows = client_parity.results_lines([{**report, "weights": {"max_abs_diff": 0.0}}])
    assert rows[-1] == "| resnet | 10.0 | 8.0 | 1.25x | 0.0e+00 |"
    assert "not measured" in client_parity.results_lines([])[-1]


@pytest.mark.slow
def test_prepare_throughput_runs_on_a_small_csv(capsys):
    from bench import prepare_throughput

    assert prepare_throughput.main(["--rows", "300", "--workers", "1"]) == 0
    assert "ratio prepare / plain" in capsys.readouterr().out


def test_python_m_bench_parses_its_options_and_needs_a_peer_for_the_scripts(capsys):
    from bench.__main__ import main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0 and "--tpu-models" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        main(["--tpu-models", "/nowhere"])
    assert refused.value.code == 2 and "--legacy-python" in capsys.readouterr().err
