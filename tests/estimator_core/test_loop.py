"""The in-graph training loop: one session.run per loop, and no iteration reads stale weights."""

import tensorflow as tf

from estimator_core import TPUEstimatorSpec, training

from .fakes import estimator, train_input_fn

v1 = tf.compat.v1


def counter_model_fn(features, labels, mode, params):
    """Each step sets w to (w as this step read it) + 1: a stale read loses an increment."""
    w = v1.get_variable("w", [], initializer=v1.zeros_initializer(), use_resource=True)
    seen = w.read_value()
    loss = tf.reduce_mean(features["x"]) * 0.0 + seen
    train_op = tf.group(w.assign(seen + 1.0), v1.assign_add(v1.train.get_global_step(), 1))
    return TPUEstimatorSpec(mode, loss=loss, train_op=train_op)


def test_every_iteration_reads_the_previous_iterations_update(tmp_path):
    est = estimator(tmp_path, model_fn=counter_model_fn, iterations=50)
    est.train(train_input_fn(), max_steps=200)
    assert est.get_variable_value("w") == 200.0


def test_one_session_run_per_loop_with_the_last_loop_shortened(tmp_path, monkeypatch):
    sizes, graphs = [], []
    real_run = training.HookedSession.run

    def recording_run(self, fetches, **kwargs):
        out = real_run(self, fetches, **kwargs)
        if isinstance(out, dict) and "steps" in out:
            sizes.append(int(out["steps"]))
            graphs.append(fetches["steps"].graph)
        return out

    monkeypatch.setattr(training.HookedSession, "run", recording_run)
    est = estimator(tmp_path, iterations=4)
    est.train(train_input_fn(), steps=10)
    assert sizes == [4, 4, 2]
    # The loop is a graph while_loop, not a Python loop around single steps.
    assert {op.type for op in graphs[0].get_operations()} & {"While", "StatelessWhile", "Enter"}
