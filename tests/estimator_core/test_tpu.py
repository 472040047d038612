"""use_tpu=True on a machine without a TPU: clear errors at the first call that needs one."""

import pytest

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
