"""Small model_fns of the kinds TPU-era scripts contain, runnable on this engine and on the
original TPUEstimator (tensorflow-estimator 2.15, use_tpu=False) alike.

Only TensorFlow is imported here: `run_case(name, api, workdir)` takes the estimator API as an
argument (`estimator_core`, or `tf.compat.v1.estimator.tpu` under TensorFlow 2.15), so
tests/estimator_core/make_legacy_reference.py can run the same code in the legacy venv and record
its numbers in data/legacy_reference.json. Every case is deterministic: constant initial values,
fixed data, no dropout.
"""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

v1 = tf.compat.v1

N, D, K = 48, 4, 3
BATCH = 8
STEPS = 6


def data():
    rng = np.random.RandomState(7)
    x = rng.randn(N, D).astype("float32")
    y = np.argmax(x[:, :K] + 0.1 * x[:, K:].sum(1, keepdims=True), axis=1).astype("int32")
    return x, y


W0 = (np.arange(D * K, dtype="float32").reshape(D, K) % 5 - 2.0) / 10.0


def train_input_fn(params):
    x, y = data()
    ds = tf.data.Dataset.from_tensor_slices(({"x": x}, y)).repeat()
    return ds.batch(params["batch_size"], drop_remainder=True)


def eval_input_fn(params):
    x, y = data()
    return tf.data.Dataset.from_tensor_slices(({"x": x}, y)).batch(params["batch_size"])


def predict_input_fn(params):
    x, _ = data()
    return tf.data.Dataset.from_tensor_slices({"x": x[:20]}).batch(params["batch_size"])


def _spec(api, mode, logits, labels, lr=0.1, train_op=None, **extra):
    predictions = {"logits": logits, "class": tf.argmax(logits, 1)}
    if mode == "infer":
        return api.TPUEstimatorSpec(mode, predictions=predictions)
    loss = v1.losses.sparse_softmax_cross_entropy(labels, logits)

    def metric_fn(labels, logits):
        return {"accuracy": v1.metrics.accuracy(labels, tf.argmax(logits, 1))}

    if mode != "train":
        train_op = None
    elif train_op is None:
        optimizer = v1.train.GradientDescentOptimizer(lr)
        train_op = optimizer.minimize(loss, global_step=v1.train.get_global_step())
    else:
        train_op = train_op(loss)
    return api.TPUEstimatorSpec(
        mode,
        loss=loss,
        train_op=train_op,
        predictions=predictions,
        eval_metrics=(metric_fn, [labels, logits]),
        **extra,
    )


def constant_tensor_initializer(api):
    """get_variable(initializer=tf.constant(array)): lifted, trains in the loop."""

    def model_fn(features, labels, mode, params):
        w = v1.get_variable("w", initializer=tf.constant(W0))
        b = v1.get_variable("b", initializer=tf.constant(np.zeros(K, "float32")))
        return _spec(api, mode, tf.matmul(features["x"], w) + b, labels)

    return model_fn


def computed_initial_value(api):
    """tf.Variable(tf.zeros(...) + c): an initial value computed in model_fn (falls back)."""

    def model_fn(features, labels, mode, params):
        w = tf.Variable(tf.zeros([D, K]) + tf.constant(W0), name="w")
        return _spec(api, mode, tf.matmul(features["x"], w), labels)

    return model_fn


def lookup_table(api):
    """A StaticHashTable built in model_fn and used in training (falls back)."""

    def model_fn(features, labels, mode, params):
        keys = tf.constant([0, 1, 2], tf.int64)
        table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, tf.constant([1.0, 0.5, 2.0])), 0.0
        )
        scale = table.lookup(tf.range(K, dtype=tf.int64))
        w = v1.get_variable("w", [D, K], initializer=v1.constant_initializer(W0))
        return _spec(api, mode, tf.matmul(features["x"], w) * scale[None, :], labels)

    return model_fn


def write_source_checkpoint(directory: str) -> str:
    """A name-based checkpoint with `w` and `b` (what a BERT-style init_checkpoint holds)."""
    os.makedirs(directory, exist_ok=True)
    graph = tf.Graph()
    with graph.as_default():
        w = v1.get_variable("w", initializer=tf.constant(W0 * 3.0))
        b = v1.get_variable("b", initializer=tf.constant(np.full(K, 0.25, "float32")))
        saver = v1.train.Saver([w, b])
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            return saver.save(session, os.path.join(directory, "source.ckpt"))


def init_from_checkpoint_in_model_fn(api, source: str, in_scaffold: bool = False):
    """BERT-style: init_from_checkpoint called in model_fn (or in scaffold_fn)."""

    def model_fn(features, labels, mode, params):
        w = v1.get_variable("w", [D, K], initializer=v1.zeros_initializer())
        b = v1.get_variable("b", [K], initializer=v1.zeros_initializer())
        assignment = {"w": "w", "b": "b"}
        scaffold_fn = None
        if in_scaffold:

            def scaffold_fn():
                v1.train.init_from_checkpoint(source, assignment)
                return v1.train.Scaffold()

        else:
            v1.train.init_from_checkpoint(source, assignment)
        return _spec(api, mode, tf.matmul(features["x"], w) + b, labels, scaffold_fn=scaffold_fn)

    return model_fn


def bert_style_schedule(api):
    """lr from the global step (warm-up, then linear decay to 0 at STEPS), Adam, and the train_op
    tf.group(apply_gradients(...), global_step.assign(global_step + 1))."""

    def model_fn(features, labels, mode, params):
        w = v1.get_variable("w", [D, K], initializer=v1.constant_initializer(W0))
        logits = tf.matmul(features["x"], w)

        def train_op(loss):
            step = v1.train.get_or_create_global_step()
            lr = v1.train.polynomial_decay(0.1, step, STEPS, end_learning_rate=0.0, power=1.0)
            warm = tf.cast(step, tf.float32) / 2.0
            lr = tf.where(step < 2, 0.1 * warm, lr)
            optimizer = v1.train.AdamOptimizer(lr)
            grads = tf.gradients(loss, [w])
            apply = optimizer.apply_gradients(zip(grads, [w]))
            return tf.group(apply, [step.assign(step + 1)])

        return _spec(api, mode, logits, labels, train_op=train_op)

    return model_fn


def resnet_style(api):
    """Batch norm with UPDATE_OPS moving statistics, an ExponentialMovingAverage of the weights,
    params['use_tpu'] and params['context'] checks as ResNet's TPU script made them."""

    def model_fn(features, labels, mode, params):
        assert params["use_tpu"] is False
        x = features["x"]
        w = v1.get_variable("w", [D, K], initializer=v1.constant_initializer(W0))
        mean = v1.get_variable("bn/moving_mean", [D], initializer=v1.zeros_initializer(),
                               trainable=False)  # fmt: skip
        var = v1.get_variable("bn/moving_variance", [D], initializer=v1.ones_initializer(),
                              trainable=False)  # fmt: skip
        if mode == "train":
            batch_mean, batch_var = tf.nn.moments(x, [0])
            for variable, value in ((mean, batch_mean), (var, batch_var)):
                v1.add_to_collection(
                    v1.GraphKeys.UPDATE_OPS, v1.assign(variable, 0.9 * variable + 0.1 * value)
                )
        else:
            batch_mean, batch_var = mean, var
        normed = (x - batch_mean) * tf.math.rsqrt(batch_var + 1e-3)
        logits = tf.matmul(normed, w)

        def train_op(loss):
            step = v1.train.get_global_step()
            optimizer = v1.train.MomentumOptimizer(0.05, 0.9)
            with tf.control_dependencies(v1.get_collection(v1.GraphKeys.UPDATE_OPS)):
                op = optimizer.minimize(loss, global_step=step)
            ema = v1.train.ExponentialMovingAverage(0.5, num_updates=step)
            with tf.control_dependencies([op]):
                return ema.apply([w])

        return _spec(api, mode, logits, labels, train_op=train_op)

    return model_fn


def resnet_input_fn(params):
    context = params.get("context")
    if context is not None:  # TPUContext code paths of ResNet's input pipeline
        _, index, count, _ = context.current_input_fn_deployment()
        assert (index, count, context.num_hosts) == (0, 1, 1)
    return train_input_fn(params)


def mnist_style(api):
    """The MNIST TPU example's shape: dense layers, Adam, CrossShardOptimizer only on TPU."""

    def model_fn(features, labels, mode, params):
        h = features["x"]
        for i, units in enumerate((5, K)):
            fan_in = int(h.shape[1])
            init = (np.arange(fan_in * units) % 7 - 3).reshape(fan_in, units) / 10.0
            kernel = v1.get_variable(f"dense{i}/kernel", initializer=tf.constant(init, tf.float32))
            h = tf.matmul(h, kernel)
            if i == 0:
                h = tf.nn.relu(h)

        def train_op(loss):
            optimizer = v1.train.AdamOptimizer(0.01)
            if params["use_tpu"]:
                optimizer = v1.tpu.CrossShardOptimizer(optimizer)
            return optimizer.minimize(loss, global_step=v1.train.get_global_step())

        return _spec(api, mode, h, labels, train_op=train_op)

    return model_fn


CASES = {
    "constant_tensor_initializer": constant_tensor_initializer,
    "computed_initial_value": computed_initial_value,
    "lookup_table": lookup_table,
    "init_from_checkpoint": init_from_checkpoint_in_model_fn,
    "init_from_checkpoint_in_scaffold_fn": lambda api, source: init_from_checkpoint_in_model_fn(
        api, source, in_scaffold=True
    ),
    "bert_style_schedule": bert_style_schedule,
    "resnet_style": resnet_style,
    "mnist_style": mnist_style,
}

# Left out of the reference: the original's result depends on thread scheduling (its reads of
# the global step race with the grouped increment).
RACY_ON_THE_ORIGINAL = ("bert_style_schedule",)
RACY_NOTE = (
    "bert_style_schedule is not recorded: on the original its global-step reads race with the "
    "grouped increment (measured: 3 of 4 runs read the incremented value, the 4th differed by "
    "0.016 in w); test_legacy_parity.py checks it against the pre-increment schedule instead."
)


def run_case(name: str, api, workdir: str, iterations: int = 2, steps: int = STEPS) -> dict:
    """Trains `steps` steps, evaluates and predicts; returns every number worth comparing."""
    make = CASES[name]
    if name.startswith("init_from_checkpoint"):
        source = write_source_checkpoint(os.path.join(workdir, "source"))
        model_fn = make(api, source)
    else:
        model_fn = make(api)
    model_dir = os.path.join(workdir, "model")
    config = api.RunConfig(
        model_dir=model_dir,
        tf_random_seed=3,
        save_checkpoints_steps=1000,
        tpu_config=api.TPUConfig(iterations_per_loop=iterations),
    )
    est = api.TPUEstimator(
        model_fn=model_fn,
        config=config,
        params={"use_tpu": True} if name == "resnet_style" else None,
        use_tpu=False,
        train_batch_size=BATCH,
        eval_batch_size=BATCH,
        predict_batch_size=BATCH,
    )
    est.train(resnet_input_fn if name == "resnet_style" else train_input_fn, max_steps=steps)
    reader = tf.train.load_checkpoint(model_dir)
    variables = {
        key: reader.get_tensor(key).tolist()
        for key in sorted(reader.get_variable_to_shape_map())
        if key != "global_step" and not key.startswith(("beta", "w/Adam", "w/Momentum"))
    }
    metrics = est.evaluate(eval_input_fn)
    predictions = [p["logits"].tolist() for p in est.predict(predict_input_fn)]
    return {
        "global_step": int(reader.get_tensor("global_step")),
        "variables": variables,
        "eval": {k: float(metrics[k]) for k in ("accuracy", "loss")},
        "predictions": predictions,
    }
