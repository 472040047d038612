"""A plain tf.estimator.Estimator script, runnable here and on the original alike.

A custom model_fn (features, labels, mode: no params) with eval_metric_ops and training,
evaluation and prediction hooks that count their calls; input_fns without arguments; a RunConfig;
train, evaluate, predict, export, then train_and_evaluate with a LatestExporter. `run(api, dir)`
takes the API as a namespace (`engine_api()` here, `legacy_api()` under TensorFlow 2.15 with
tensorflow-estimator 2.15), so make_legacy_reference.py records the original's numbers with the
same code. Deterministic: constant initial values, fixed data, no dropout.
"""

from __future__ import annotations

import os
import types

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1
N, D, K, BATCH, STEPS = 40, 4, 3, 8, 7
HOOK_EVENTS = ("begin", "after_create_session", "before_run", "after_run", "end")


def data():
    rng = np.random.RandomState(11)
    x = rng.randn(N, D).astype("float32")
    y = np.argmax(x[:, :K] - 0.2 * x[:, K:], axis=1).astype("int32")
    return x, y


def train_input_fn():
    x, y = data()
    return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat().batch(BATCH)


def eval_input_fn():
    x, y = data()
    return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(BATCH)


def predict_input_fn():
    x, _ = data()
    return tf.data.Dataset.from_tensor_slices({"x": x[:12]}).batch(5)


class CountingHook(v1.train.SessionRunHook):
    """Counts each call; in training also records the loss it fetches at every step."""

    def __init__(self, counts: dict, kind: str, loss=None):
        self._counts = counts.setdefault(kind, dict.fromkeys(HOOK_EVENTS, 0))
        self._losses = counts.setdefault(kind + "_losses", [])
        self._loss = loss

    def begin(self):
        self._counts["begin"] += 1

    def after_create_session(self, session, coord):
        self._counts["after_create_session"] += 1

    def before_run(self, run_context):
        self._counts["before_run"] += 1
        return v1.train.SessionRunArgs(self._loss) if self._loss is not None else None

    def after_run(self, run_context, run_values):
        self._counts["after_run"] += 1
        if self._loss is not None:
            self._losses.append(float(run_values.results))

    def end(self, session):
        self._counts["end"] += 1


def make_model_fn(api, counts: dict):
    def model_fn(features, labels, mode):
        hidden_w = v1.get_variable(
            "hidden/kernel", initializer=np.full((D, 5), 0.1, "float32") + np.eye(D, 5, dtype="f")
        )
        out_w = v1.get_variable(
            "logits/kernel", initializer=(np.arange(15, dtype="float32").reshape(5, K) % 4) / 10
        )
        out_b = v1.get_variable("logits/bias", initializer=np.zeros(K, "float32"))
        logits = tf.matmul(tf.nn.relu(tf.matmul(features["x"], hidden_w)), out_w) + out_b
        predictions = {"logits": logits, "class": tf.argmax(logits, 1)}
        if mode == "infer":
            hook = CountingHook(counts, "predict")
            return api.EstimatorSpec(mode, predictions=predictions, prediction_hooks=[hook])
        loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)
        train_op = v1.train.MomentumOptimizer(0.2, 0.5).minimize(
            loss, global_step=v1.train.get_global_step()
        )
        metrics = {
            "accuracy": v1.metrics.accuracy(labels, predictions["class"]),
            "mean_logit": v1.metrics.mean(logits),
        }
        return api.EstimatorSpec(
            mode,
            predictions=predictions,
            loss=loss,
            train_op=train_op,
            eval_metric_ops=metrics,
            training_hooks=[CountingHook(counts, "train", loss)],
            evaluation_hooks=[CountingHook(counts, "eval")],
        )

    return model_fn


def serving_input_receiver_fn_for(api):
    def serving_input_receiver_fn():
        x = v1.placeholder(tf.float32, [None, D], name="x")
        return api.ServingInputReceiver({"x": x}, {"x": x})

    return serving_input_receiver_fn


def _served_logits(export_dir: str) -> list:
    x, _ = data()
    graph = tf.Graph()
    with graph.as_default(), v1.Session(graph=graph) as session:
        meta = v1.saved_model.loader.load(session, ["serve"], export_dir)
        signature = meta.signature_def["serving_default"]
        fetch = signature.outputs["logits"].name
        feed = {signature.inputs["x"].name: x[:6]}
        return session.run(fetch, feed).tolist()


def run(api, workdir: str) -> dict:
    """Every number worth comparing, and how often each hook was called."""
    counts: dict = {}
    model_dir = os.path.join(workdir, "model")
    config = api.RunConfig(
        model_dir=model_dir,
        tf_random_seed=5,
        save_checkpoints_steps=3,
        save_summary_steps=2,
        log_step_count_steps=4,
        keep_checkpoint_max=2,
    )
    est = api.Estimator(make_model_fn(api, counts), config=config)
    est.train(train_input_fn, steps=STEPS)
    variables = {
        name: np.asarray(est.get_variable_value(name)).tolist()
        for name in est.get_variable_names()
        if not name.endswith("Momentum")
    }
    metrics = est.evaluate(eval_input_fn)
    predictions = [p["logits"].tolist() for p in est.predict(predict_input_fn)]
    receiver_fn = serving_input_receiver_fn_for(api)
    export_dir = est.export_saved_model(os.path.join(workdir, "export"), receiver_fn)
    if isinstance(export_dir, bytes):
        export_dir = export_dir.decode()
    served = _served_logits(export_dir)
    hook_calls = {k: dict(counts[k]) for k in ("train", "eval", "predict")}
    train_losses = list(counts["train_losses"])
    train_spec = api.TrainSpec(train_input_fn, max_steps=2 * STEPS)
    exporter = api.LatestExporter("latest", receiver_fn)
    # EvalSpec's defaults (start_delay_secs=120, throttle_secs=600), as most scripts left them.
    eval_spec = api.EvalSpec(eval_input_fn, steps=None, exporters=[exporter])
    final, exports = api.train_and_evaluate(est, train_spec, eval_spec)
    return {
        "global_step": int(est.get_variable_value("global_step")),
        "variable_names": sorted(est.get_variable_names()),
        "variables_after_train": variables,
        "eval": {k: float(metrics[k]) for k in ("accuracy", "loss", "mean_logit", "global_step")},
        "predictions": predictions,
        "served_logits": served,
        "train_and_evaluate": {
            k: float(final[k]) for k in ("accuracy", "loss", "mean_logit", "global_step")
        },
        "final_exports": len(exports) > 0,
        "hook_calls": hook_calls,
        "train_losses": train_losses,
        "hook_calls_in_train_and_evaluate": {
            k: {e: counts[k][e] - hook_calls[k][e] for e in HOOK_EVENTS} for k in ("train", "eval")
        },
    }


def engine_api():
    import estimator_core
    from estimator_core import export

    names = ("Estimator", "EstimatorSpec", "RunConfig", "TrainSpec", "EvalSpec", "LatestExporter")
    api = {name: getattr(estimator_core, name) for name in names}
    api["ServingInputReceiver"] = export.ServingInputReceiver
    api["train_and_evaluate"] = estimator_core.train_and_evaluate
    return types.SimpleNamespace(**api)


def legacy_api():
    est = tf.compat.v1.estimator
    return types.SimpleNamespace(
        Estimator=est.Estimator,
        EstimatorSpec=est.EstimatorSpec,
        RunConfig=est.RunConfig,
        TrainSpec=est.TrainSpec,
        EvalSpec=est.EvalSpec,
        LatestExporter=est.LatestExporter,
        ServingInputReceiver=est.export.ServingInputReceiver,
        train_and_evaluate=est.train_and_evaluate,
    )
