"""use_tpu=True on a machine without a TPU: clear errors at the first call that needs one."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_core import RunConfig, TPUConfig, TPUEstimator
from estimator_core.tpu import TPUNotFoundError

from .fakes import finite_input_fn, linear_model_fn, train_input_fn


def tpu_estimator(tmp_path, **kwargs):
    config = RunConfig(model_dir=str(tmp_path), tpu_config=TPUConfig(2, 2))
    return TPUEstimator(linear_model_fn, config=config, use_tpu=True, train_batch_size=8, **kwargs)


def test_train_without_tpu_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    with pytest.raises(TPUNotFoundError, match="use_tpu=False"):
        tpu_estimator(tmp_path).train(train_input_fn(), steps=1)
    assert not list(tmp_path.iterdir())  # nothing was written


def test_evaluate_on_tpu_requires_tpu_but_cpu_evaluate_and_predict_run(tmp_path, monkeypatch):
    monkeypatch.delenv("TPU_NAME", raising=False)
    from .fakes import estimator

    estimator(tmp_path).train(train_input_fn(), steps=4)
    with pytest.raises(TPUNotFoundError):
        tpu_estimator(tmp_path, eval_batch_size=8).evaluate(finite_input_fn())
    # Without eval/predict batch sizes the seed says these run on the CPU.
    assert "accuracy" in tpu_estimator(tmp_path).evaluate(
        lambda: finite_input_fn()({"batch_size": 8})
    )
    assert (
        len(list(tpu_estimator(tmp_path).predict(lambda: finite_input_fn()({"batch_size": 8}))))
        == 96
    )


def test_unknown_tpu_name_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TPU_NAME", "no-such-tpu-anywhere")
    with pytest.raises(TPUNotFoundError, match="no-such-tpu-anywhere"):
        tpu_estimator(tmp_path).train(train_input_fn(), steps=1)


def test_the_tpu_training_graph_builds_with_tpu_ops(tmp_path):
    """No TPU here: build (not run) the replicated training graph and check its TPU ops."""
    import dataclasses

    from estimator_core.train_graph import build_train_graph

    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        assert params["batch_size"] == 4  # global 8 over 2 shards
        return spec

    est = TPUEstimator(
        model_fn,
        config=RunConfig(model_dir=str(tmp_path), tpu_config=TPUConfig(5, 2)),
        use_tpu=True,
        train_batch_size=8,
    )
    ctx = dataclasses.replace(est._ctx, tpu_target="grpc://10.0.0.2:8470")
    tg = build_train_graph(ctx, train_input_fn(), warm_start=False)
    types = {op.type for op in tg.graph.get_operations()}
    assert {"TPUReplicateMetadata", "TPUReplicatedInput", "TPUReplicatedOutput"} <= types
    assert "ConfigureDistributedTPU" in types  # the TPU system initialization run per session
    assert tg.init_ops
    metadata = next(op for op in tg.graph.get_operations() if op.type == "TPUReplicateMetadata")
    assert metadata.get_attr("num_replicas") == 2
    assert tg.replication.session_target == "grpc://10.0.0.2:8470"


class _FakeResolver:
    """A resolved 'TPU' with no cluster: the session runs in-process."""

    def master(self):
        return ""

    def cluster_spec(self):
        return tf.train.ClusterSpec({})


def _replicate_on_cpu(computation, inputs=None, **_):
    """tf.compat.v1.tpu.replicate's contract (one call per core, per-core output lists) run on
    the CPU, so the host side of the TPU path (padding, sharding, gathering) really executes."""
    outputs = []
    for core, core_inputs in enumerate(inputs):
        # TPU traces the computation once for all cores: later cores share its variables.
        scope = tf.compat.v1.get_variable_scope()
        with tf.compat.v1.variable_scope(scope, reuse=tf.compat.v1.AUTO_REUSE if core else None):
            outputs.append(list(computation(*core_inputs)))
    return outputs


@pytest.fixture
def cpu_as_tpu(monkeypatch):
    from estimator_core import replication, tpu

    monkeypatch.setattr(tf.compat.v1.tpu, "replicate", _replicate_on_cpu)
    monkeypatch.setattr(replication.TPUReplicated, "init_ops", lambda self: [])
    monkeypatch.setattr(
        tpu, "require_tpu", lambda config, mode: (_FakeResolver(), ["core0", "core1"])
    )


def test_tpu_eval_and_predict_pad_the_final_batch_and_count_each_example_once(tmp_path, cpu_as_tpu):
    """97 examples, eval batch 8 on 2 cores: the last batch holds one real row, padded to 8.
    Metrics and predictions must equal one-device results exactly."""
    from .fakes import data, estimator

    x, y = data(97, seed=3)
    cpu = estimator(tmp_path, eval_batch_size=None, predict_batch_size=None)
    cpu.train(train_input_fn(x, y), steps=6)
    expected = cpu.evaluate(lambda: finite_input_fn(x, y)({"batch_size": 8}))
    expected_predictions = list(
        cpu.predict(lambda: finite_input_fn(x, labels=False)({"batch_size": 8}))
    )

    seen = []

    def model_fn(features, labels, mode, params):
        seen.append((mode, params["batch_size"]))
        return linear_model_fn(features, labels, mode, params)

    config = RunConfig(model_dir=str(tmp_path), tpu_config=TPUConfig(2, 2))
    on_tpu = TPUEstimator(
        model_fn, config=config, use_tpu=True, train_batch_size=8, eval_batch_size=8,
        predict_batch_size=8,
    )  # fmt: skip
    got = on_tpu.evaluate(finite_input_fn(x, y))
    assert got["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-7)
    assert got["global_step"] == expected["global_step"] == 6
    # Only the last core of the last batch mixes real and padding rows; the loss stays close.
    assert got["loss"] == pytest.approx(expected["loss"], rel=0.05, abs=1e-3)
    predictions = list(on_tpu.predict(finite_input_fn(x, labels=False)))
    assert len(predictions) == 97
    for mine, theirs in zip(predictions, expected_predictions):
        assert mine["class"] == theirs["class"]
        np.testing.assert_allclose(mine["logits"], theirs["logits"], rtol=1e-6, atol=1e-6)
    # model_fn saw the per-core batch: global 8 over 2 cores.
    assert ("eval", 4) in seen and ("infer", 4) in seen


def test_the_tpu_eval_graph_builds_with_tpu_ops(tmp_path, monkeypatch):
    from estimator_core import mode_graph, tpu

    monkeypatch.setattr(
        tpu, "require_tpu", lambda config, mode: (_FakeResolver(), ["core0", "core1"])
    )
    built = {}

    def keep_graph(
        graph, scaffold, hooks, checkpoint, replication, config, init_ops=(), warm_started=None
    ):
        built["graph"], built["init_ops"] = graph, init_ops
        raise RuntimeError("graph built")

    from .fakes import estimator

    estimator(tmp_path).train(train_input_fn(), steps=2)
    # Every mode opens its session through mode_graph: stop the EVAL build there.
    monkeypatch.setattr(mode_graph, "start_session", keep_graph)
    est = tpu_estimator(tmp_path, eval_batch_size=8)
    with pytest.raises(RuntimeError, match="graph built"):
        est.evaluate(finite_input_fn())
    types = {op.type for op in built["graph"].get_operations()}
    assert {"TPUReplicateMetadata", "TPUReplicatedInput", "TPUReplicatedOutput"} <= types
    assert [t.op.type for t in built["init_ops"]] == ["ConfigureDistributedTPU"]
