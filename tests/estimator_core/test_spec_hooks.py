"""The spec's own hooks and scaffold_fn: each runs in its mode; chief hooks on the chief only."""

import json

import tensorflow as tf

from estimator_core import ModeKeys, TPUEstimatorSpec
from estimator_core.spec import hooks_of

from .fakes import data, estimator, finite_input_fn, linear_model_fn, train_input_fn

v1 = tf.compat.v1


class CountingHook(v1.train.SessionRunHook):
    def __init__(self):
        self.calls = {"begin": 0, "after_run": 0, "end": 0}

    def begin(self):
        self.calls["begin"] += 1

    def after_run(self, run_context, run_values):
        self.calls["after_run"] += 1

    def end(self, session):
        self.calls["end"] += 1


def hooked_model_fn(hooks, init_fn_calls):
    """linear_model_fn with a counting hook in every hook field and a scaffold with init_fn."""

    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)

        def scaffold_fn():
            return v1.train.Scaffold(init_fn=lambda scaffold, session: init_fn_calls.append(mode))

        return spec._replace(
            training_hooks=(hooks["train"],),
            training_chief_hooks=(hooks["chief"],),
            evaluation_hooks=(hooks["eval"],),
            prediction_hooks=(hooks["predict"],),
            scaffold_fn=scaffold_fn,
        )

    return model_fn


def counts(hooks):
    return {name: tuple(hook.calls.values()) for name, hook in hooks.items()}


def test_each_mode_runs_its_own_spec_hooks_and_scaffold_init_fn_once(tmp_path):
    hooks = {name: CountingHook() for name in ("train", "chief", "eval", "predict")}
    init_fn_calls = []
    est = estimator(tmp_path, model_fn=hooked_model_fn(hooks, init_fn_calls), iterations=5)
    est.train(train_input_fn(), steps=10)  # two loops of 5 steps
    # (begin, after_run, end)
    assert counts(hooks) == {
        "train": (1, 2, 1),
        "chief": (1, 2, 1),
        "eval": (0, 0, 0),
        "predict": (0, 0, 0),
    }
    est.evaluate(finite_input_fn())  # 96 examples, batches of 8
    x, _ = data(n=16)
    assert len(list(est.predict(finite_input_fn(x, labels=False)))) == 16  # two batches
    assert counts(hooks) == {
        "train": (1, 2, 1),
        "chief": (1, 2, 1),
        "eval": (1, 12, 1),
        "predict": (1, 2, 1),
    }
    # init_fn initializes a new model; evaluation and prediction restore a checkpoint instead.
    assert init_fn_calls == [ModeKeys.TRAIN]


def test_training_chief_hooks_run_only_on_the_chief(tmp_path, monkeypatch):
    hook, chief_hook = CountingHook(), CountingHook()
    spec = TPUEstimatorSpec(
        ModeKeys.TRAIN, training_hooks=(hook,), training_chief_hooks=(chief_hook,)
    )
    assert hooks_of(spec, ModeKeys.TRAIN, is_chief=True) == (hook, chief_hook)
    assert hooks_of(spec, ModeKeys.TRAIN, is_chief=False) == (hook,)
    assert hooks_of(spec, ModeKeys.EVAL, is_chief=True) == ()

    # A task that is not the chief (here an evaluator of a one-chief cluster: no peers to
    # reach) trains with training_hooks only, and writes no checkpoint.
    monkeypatch.setenv(
        "TF_CONFIG",
        json.dumps({"cluster": {"chief": ["localhost:2222"]}, "task": {"type": "evaluator"}}),
    )
    hooks = {name: CountingHook() for name in ("train", "chief", "eval", "predict")}
    est = estimator(tmp_path, model_fn=hooked_model_fn(hooks, []), iterations=5)
    assert not est.config.is_chief
    est.train(train_input_fn(), steps=10)
    assert counts(hooks)["train"] == (1, 2, 1)
    assert counts(hooks)["chief"] == (0, 0, 0)
    assert est.latest_checkpoint() is None
