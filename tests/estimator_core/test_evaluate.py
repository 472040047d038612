import glob

import numpy as np
import pytest
import tensorflow as tf

from estimator_core import EstimatorSpec, ModeKeys, TPUEstimatorSpec

from .fakes import data, estimator, finite_input_fn, linear_model_fn, metric_fn

v1 = tf.compat.v1


def numpy_eval(est, x, y):
    w, b = est.get_variable_value(["w", "b"])
    logits = x @ w + b
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    loss = -np.log(p[np.arange(len(y)), y]).mean()
    return (np.argmax(logits, 1) == y).mean(), loss


def test_argument_errors(tmp_path, trained):
    with pytest.raises(ValueError, match="steps must be a positive int"):
        estimator(trained).evaluate(finite_input_fn(), steps=0)
    with pytest.raises(ValueError, match="could not find a trained model"):
        estimator(tmp_path).evaluate(finite_input_fn())
    with pytest.raises(ValueError, match="does not exist"):
        estimator(trained).evaluate(
            finite_input_fn(), checkpoint_path=str(tmp_path / "model.ckpt-3")
        )


def test_partial_final_batch_counts_once_in_loss_and_per_example_in_metrics(trained):
    # As the original's: `loss` is the mean of the batches' losses (the last batch of 5 counts
    # as one batch), while metric_fn's streaming metrics count examples.
    x, y = data(n=45, seed=3)  # batches of 8: five full, one of 5
    est = estimator(trained, batch=8)
    result = est.evaluate(finite_input_fn(x, y))
    accuracy, _ = numpy_eval(est, x, y)
    batch_losses = [numpy_eval(est, x[i : i + 8], y[i : i + 8])[1] for i in range(0, 45, 8)]
    assert result["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert result["loss"] == pytest.approx(np.mean(batch_losses), rel=1e-5, abs=1e-6)
    assert abs(np.mean(batch_losses) - numpy_eval(est, x, y)[1]) > 1e-4  # the two rules differ
    assert result["global_step"] == 20


def test_steps_limits_batches(trained):
    x, y = data(n=40, seed=4)
    est = estimator(trained, batch=8)
    result = est.evaluate(finite_input_fn(x, y), steps=2)
    accuracy, loss = numpy_eval(est, x[:16], y[:16])
    assert result["loss"] == pytest.approx(loss, rel=1e-5, abs=1e-6)


def test_eval_metrics_as_dict_and_eval_metric_ops(trained):
    def dict_model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        logits = spec.predictions["logits"]
        return spec._replace(
            eval_metrics=(lambda **kw: metric_fn(**kw), {"labels": labels, "logits": logits})
        )

    def plain_model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        logits = spec.predictions["logits"]
        return EstimatorSpec(mode, loss=spec.loss, eval_metric_ops=metric_fn(labels, logits))

    expected = estimator(trained).evaluate(finite_input_fn())
    for model_fn in (dict_model_fn, plain_model_fn):
        got = estimator(trained, model_fn=model_fn).evaluate(finite_input_fn())
        assert got == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("name, directory", [("holdout", "eval_holdout"), (None, "eval")])
def test_eval_results_are_written_as_summaries(trained, name, directory):
    estimator(trained).evaluate(finite_input_fn(), name=name)
    tags = set()
    for path in glob.glob(f"{trained}/{directory}/events.out.tfevents.*"):
        for event in v1.train.summary_iterator(path):
            tags.update((v.tag, event.step) for v in event.summary.value)
    assert ("accuracy", 20) in tags and ("loss", 20) in tags


def test_spec_must_fit_the_mode(trained):
    def no_loss(features, labels, mode):
        return TPUEstimatorSpec(mode, predictions=features["x"])

    with pytest.raises(ValueError, match="EVAL mode must return loss"):
        estimator(trained, model_fn=no_loss).evaluate(finite_input_fn())
    assert ModeKeys.EVAL == "eval"


def test_results_are_numpy_scalars_of_the_metric_dtype(trained):
    # As the original's: scripts write `str(result[key])` (BERT's eval_results.txt), which
    # reads "0.7" for a float32 metric and "0.699999988079071" for a Python float.
    result = estimator(trained).evaluate(finite_input_fn())
    assert type(result["loss"]) is np.float32
    assert type(result["accuracy"]) is np.float32
    assert type(result["global_step"]) is np.int64
    assert str(result["accuracy"]) == str(np.float32(float(result["accuracy"])))


def test_results_list_metrics_by_name_then_global_step(trained):
    # The original sorted the metrics (loss among them) by name and put global_step last, so a
    # script that prints the dict shows them in that order.
    def model_fn(features, labels, mode, params):
        spec = linear_model_fn(features, labels, mode, params)
        logits = spec.predictions["logits"]

        def metrics(labels, logits):
            mean = v1.metrics.mean(logits)
            return {"zeta": mean, "alpha": v1.metrics.mean(labels), "m": mean}

        return spec._replace(eval_metrics=(metrics, [labels, logits]))

    result = estimator(trained, model_fn=model_fn).evaluate(finite_input_fn())
    assert list(result) == ["alpha", "loss", "m", "zeta", "global_step"]
