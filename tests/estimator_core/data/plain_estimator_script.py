"""A plain tf.estimator.Estimator script, TF1 style: test data for
test_migrate_plain_estimator.py.

Custom model_fn with eval_metric_ops and training_hooks, input_fns without params, RunConfig,
train/evaluate/predict/export_saved_model, then train_and_evaluate with a LatestExporter. It
prints one JSON line of numbers; weights start from fixed NumPy values so two engines agree.
"""

import json
import os
import sys

import numpy as np
import tensorflow.compat.v1 as tf

RNG = np.random.RandomState(0)
X = RNG.rand(64, 4).astype(np.float32)
Y = (X.sum(axis=1) > 2.0).astype(np.int32)
W1 = RNG.normal(0, 0.5, (4, 8)).astype(np.float32)
W2 = RNG.normal(0, 0.5, (8, 2)).astype(np.float32)


def train_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).repeat().batch(8)


def eval_input_fn():
    return tf.data.Dataset.from_tensor_slices(({"x": X}, Y)).batch(8)


def predict_input_fn():
    return tf.data.Dataset.from_tensor_slices({"x": X[:10]}).batch(8)  # a partial last batch


class CountingHook(tf.estimator.SessionRunHook):
    """Counts its calls and fetches the loss every step (a model_fn tensor)."""

    def __init__(self, loss, counts):
        self.loss, self.counts = loss, counts

    def begin(self):
        self.counts["begin"] += 1

    def before_run(self, run_context):
        self.counts["before_run"] += 1
        return tf.estimator.SessionRunArgs({"loss": self.loss})

    def after_run(self, run_context, run_values):
        self.counts["after_run"] += 1
        self.counts["last_loss"] = float(run_values.results["loss"])

    def end(self, session):
        self.counts["end"] += 1


COUNTS = {"begin": 0, "before_run": 0, "after_run": 0, "end": 0, "last_loss": None}


def model_fn(features, labels, mode, params, config):
    w1 = tf.get_variable("w1", initializer=W1)
    w2 = tf.get_variable("w2", initializer=W2)
    logits = tf.matmul(tf.nn.relu(tf.matmul(features["x"], w1)), w2)
    classes = tf.argmax(logits, axis=1)
    if mode == tf.estimator.ModeKeys.PREDICT:
        predictions = {"classes": classes, "probabilities": tf.nn.softmax(logits)}
        return tf.estimator.EstimatorSpec(
            mode,
            predictions=predictions,
            export_outputs={"serving_default": tf.estimator.export.PredictOutput(predictions)},
        )
    loss = tf.losses.sparse_softmax_cross_entropy(labels, logits)
    if mode == tf.estimator.ModeKeys.EVAL:
        metrics = {
            "accuracy": tf.metrics.accuracy(labels, classes),
            "mean_logit": tf.metrics.mean(logits),
        }
        return tf.estimator.EstimatorSpec(mode, loss=loss, eval_metric_ops=metrics)
    optimizer = tf.train.GradientDescentOptimizer(params["learning_rate"])
    train_op = optimizer.minimize(loss, global_step=tf.train.get_global_step())
    hook = CountingHook(loss, COUNTS)
    return tf.estimator.EstimatorSpec(mode, loss=loss, train_op=train_op, training_hooks=[hook])


def serving_input_receiver_fn():
    x = tf.placeholder(tf.float32, [None, 4], name="x")
    return tf.estimator.export.ServingInputReceiver({"x": x}, {"x": x})


def main(model_dir):
    config = tf.estimator.RunConfig(
        model_dir=model_dir, save_checkpoints_steps=10, tf_random_seed=1, log_step_count_steps=5
    )
    est = tf.estimator.Estimator(model_fn, config=config, params={"learning_rate": 0.5})
    est.train(train_input_fn, steps=20)
    out = {"hook_after_train": dict(COUNTS)}
    out["evaluate"] = {k: float(v) for k, v in est.evaluate(eval_input_fn).items()}
    out["predict"] = [p["probabilities"].tolist() for p in est.predict(predict_input_fn)]
    export = est.export_saved_model(os.path.join(model_dir, "export"), serving_input_receiver_fn)
    export = export.decode() if isinstance(export, bytes) else export
    out["export_has_saved_model"] = os.path.exists(os.path.join(export, "saved_model.pb"))
    exporter = tf.estimator.LatestExporter("latest", serving_input_receiver_fn)
    train_spec = tf.estimator.TrainSpec(train_input_fn, max_steps=40)
    eval_spec = tf.estimator.EvalSpec(
        eval_input_fn, steps=None, exporters=[exporter], start_delay_secs=0, throttle_secs=0
    )
    metrics, _ = tf.estimator.train_and_evaluate(est, train_spec, eval_spec)
    out["train_and_evaluate"] = {k: float(v) for k, v in metrics.items()}
    out["hook_final"] = dict(COUNTS)
    out["w2"] = est.get_variable_value("w2").tolist()
    out["global_step"] = int(est.get_variable_value("global_step"))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
