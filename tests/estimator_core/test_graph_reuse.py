"""Persistent graphs: repeated calls with the same input_fn reuse the graph and live session."""

import collections

import numpy as np
import pytest
import tensorflow as tf

from .fakes import data, estimator, finite_input_fn, linear_model_fn, train_input_fn


def counting_model_fn():
    calls = collections.Counter()

    def model_fn(features, labels, mode, params):
        calls[mode] += 1
        return linear_model_fn(features, labels, mode, params)

    return model_fn, calls


def test_train_reuses_the_graph_and_matches_rebuilding(tmp_path):
    model_fn, calls = counting_model_fn()
    reused = estimator(tmp_path / "reused", model_fn=model_fn, iterations=3)
    input_fn = train_input_fn()
    for _ in range(3):
        reused.train(input_fn, steps=7)
    assert calls["train"] == 1
    rebuilt = estimator(tmp_path / "rebuilt", iterations=3)
    for _ in range(3):
        rebuilt.train(train_input_fn(), steps=7)  # a new input_fn each time: rebuilt graphs
    assert reused.get_variable_value("global_step") == 21
    np.testing.assert_array_equal(reused.get_variable_value("w"), rebuilt.get_variable_value("w"))


def test_checkpoints_written_by_others_win_over_the_live_session(tmp_path):
    model_fn, calls = counting_model_fn()
    mine = estimator(tmp_path, model_fn=model_fn)
    input_fn = train_input_fn()
    mine.train(input_fn, steps=4)
    estimator(tmp_path).train(train_input_fn(), steps=10)  # another trainer moves model_dir on
    mine.train(input_fn, steps=2)
    assert calls["train"] == 1
    assert mine.get_variable_value("global_step") == 16


def test_evaluate_and_predict_reuse_and_restore_the_requested_checkpoint(tmp_path):
    model_fn, calls = counting_model_fn()
    est = estimator(tmp_path, model_fn=model_fn, save_checkpoints_steps=5, iterations=5)
    est.train(train_input_fn(), max_steps=10)
    eval_fn = finite_input_fn()
    latest = est.evaluate(eval_fn)
    at_5 = est.evaluate(eval_fn, checkpoint_path=str(tmp_path / "model.ckpt-5"))
    again = est.evaluate(eval_fn)
    assert calls["eval"] == 1
    assert latest == again and at_5["global_step"] == 5 and at_5["loss"] != latest["loss"]
    assert latest == estimator(tmp_path).evaluate(finite_input_fn())
    x, _ = data(n=20)
    predict_fn = finite_input_fn(x, labels=False)
    first = [p["logits"] for p in est.predict(predict_fn)]
    second = [p["logits"] for p in est.predict(predict_fn)]
    assert calls["infer"] == 1
    np.testing.assert_array_equal(first, second)
    # Two generators alive at once each see every example.
    pairs = list(zip(est.predict(predict_fn), est.predict(predict_fn)))
    assert len(pairs) == 20
    np.testing.assert_array_equal([a["logits"] for a, _ in pairs], [b["logits"] for _, b in pairs])


def test_a_failed_call_is_never_reused(tmp_path):
    from .test_train import nan_model_fn

    calls = collections.Counter()

    def model_fn(features, labels, mode, params):
        calls[mode] += 1
        return nan_model_fn(features, labels, mode, params)

    est = estimator(tmp_path, model_fn=model_fn, iterations=4, save_checkpoints_steps=4)
    input_fn = train_input_fn()
    with pytest.raises(Exception, match="global step 7"):
        est.train(input_fn, max_steps=20)
    with pytest.raises(Exception, match="global step 7"):
        est.train(input_fn, max_steps=20)  # restarted from model.ckpt-4, not from the NaN state
    assert calls["train"] == 2


def test_a_new_input_fn_rebuilds_the_graph(tmp_path):
    model_fn, calls = counting_model_fn()
    est = estimator(tmp_path, model_fn=model_fn)
    input_fn = train_input_fn()
    est.train(input_fn, steps=2)
    est.train(input_fn, steps=2)
    assert calls["train"] == 1
    est.train(train_input_fn(), steps=2)  # equal code, but a different input_fn object
    assert calls["train"] == 2
    eval_fn = finite_input_fn()
    first = est.evaluate(eval_fn)
    est.evaluate(eval_fn)
    assert calls["eval"] == 1
    assert est.evaluate(finite_input_fn()) == first
    assert calls["eval"] == 2
    assert est.get_variable_value("global_step") == 6


def test_params_are_copied_so_later_changes_cannot_reach_a_cached_graph(tmp_path):
    params = {"optimizer": {"lr": 0.1}}
    built_with = []

    def model_fn(features, labels, mode, params):
        built_with.append(params["optimizer"]["lr"])
        return linear_model_fn(features, labels, mode, {"lr": params["optimizer"]["lr"]})

    est = estimator(tmp_path, model_fn=model_fn, params=params)
    input_fn = train_input_fn()
    est.train(input_fn, steps=2)
    params["optimizer"]["lr"] = 0.0  # the caller's dict, after construction
    est.params["optimizer"]["lr"] = 0.0  # the property hands out a copy too
    est.train(input_fn, steps=2)  # the cached graph (built with 0.1)
    est.train(train_input_fn(), steps=2)  # a rebuilt graph: still 0.1, like the cached one
    assert built_with == [0.1, 0.1]
    assert est.params == {"optimizer": {"lr": 0.1}}


def one_shot_input_fn(n, labels=True):
    """Tensors from a one-shot iterator over n examples (no repeat), as TF1-era input_fns made."""
    x, y = data(n=n)

    def input_fn(params):
        ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y) if labels else {"x": x})
        iterator = tf.compat.v1.data.make_one_shot_iterator(ds.batch(params["batch_size"]))
        return iterator.get_next()

    return input_fn


def test_tensor_input_fns_start_their_input_afresh_on_every_call(tmp_path):
    # A one-shot iterator's position lives in its session: the original rebuilt the graph on
    # every call, so each call read the input from the start. A reused graph would find it spent.
    model_fn, calls = counting_model_fn()
    est = estimator(tmp_path, model_fn=model_fn)
    train_fn = one_shot_input_fn(16)  # 2 batches of 8
    est.train(train_fn, steps=2)
    est.train(train_fn, steps=2)
    assert est.get_variable_value("global_step") == 4
    eval_fn = one_shot_input_fn(16)
    first = est.evaluate(eval_fn, steps=5)
    assert est.evaluate(eval_fn, steps=5) == first
    assert first == estimator(tmp_path).evaluate(one_shot_input_fn(16), steps=5)
    predict_fn = one_shot_input_fn(8, labels=False)
    assert len(list(est.predict(predict_fn))) == len(list(est.predict(predict_fn))) == 8
    assert calls == {"train": 2, "eval": 2, "infer": 2}
