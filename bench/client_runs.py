"""The child side of bench/client_parity.py: one client run under either Python (TF 2.15 with
tensorflow-estimator, or this project's), printing one JSON line of results.

python bench/client_runs.py --client resnet --side engine --src DIR --work DIR  (client_parity
starts it; it imports nothing from this repository, so the 2.15 Python runs it as a file)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import time

SEQ_LEN = 16
TRAIN_STEPS = 10  # 32 examples / batch 8 * 2.5 epochs
FLAGS = {
    "task_name": "cola",
    "do_train": "true",
    "do_eval": "true",
    "do_predict": "true",
    "do_lower_case": "true",
    "max_seq_length": str(SEQ_LEN),
    "train_batch_size": "8",
    "eval_batch_size": "8",  # 13 dev examples: a partial last batch
    "predict_batch_size": "8",  # 10 test examples: a partial last batch
    "learning_rate": "1e-3",
    "num_train_epochs": "2.5",
    "warmup_proportion": "0.1",
    "iterations_per_loop": "5",
    "save_checkpoints_steps": "1000",
    "use_tpu": "false",
}
RESNET_FLAGS = {
    "use_tpu": "false",
    "tpu": "local",
    "data_dir": "",  # the script's null input: black images, label 0 (no random preprocessing)
    "resnet_depth": "18",
    "train_batch_size": "8",
    "eval_batch_size": "8",
    "train_steps": "4",
    "num_train_images": "32",
    "num_eval_images": "16",
    "image_size": "32",
    "iterations_per_loop": "2",
    "steps_per_eval": "4",
    "precision": "float32",
    "num_label_classes": "10",
    "mode": "train_and_eval",
}
RESNET_DIRS = ("official", "common", "hyperparameters")
EFFICIENTNET_FLAGS = {
    "use_tpu": "false",
    "data_dir": "null",  # imagenet_input's null input: black images, label 0
    "model_name": "efficientnet-b0",
    "input_image_size": "64",
    "train_batch_size": "8",
    "eval_batch_size": "8",
    "train_steps": "4",
    "num_train_images": "32",
    "num_eval_images": "16",
    "steps_per_eval": "2",
    "iterations_per_loop": "2",
    "num_label_classes": "1000",  # the b0 head's width
    "transpose_input": "false",
    "dropout_rate": "0",  # dropout and drop-connect are random: off on both sides
    "survival_prob": "1.0",
    "mode": "train_and_eval",  # EMA (moving_average_decay 0.9999) and host_call stay on
}
# Script clients from tensorflow/tpu's models/: (dirs copied, the script's dir, script, flags).
SCRIPT_CLIENTS = {
    "resnet": (RESNET_DIRS, "official/resnet", "resnet_main.py", RESNET_FLAGS),
    "efficientnet": (
        ("official/efficientnet",),
        "official/efficientnet",
        "main.py",
        EFFICIENTNET_FLAGS,
    ),
}
MNIST_FLAGS = {
    "tpu": "local",  # the script always builds a TPUClusterResolver; "local" needs no Cloud API
    "batch_size": "16",
    "train_steps": "10",
    "eval_steps": "2",
    "learning_rate": "0.05",
    "use_tpu": "false",
    "enable_predict": "true",
    "iterations": "5",
}


def _without_randomness(tensorflow, nn) -> None:
    """Unseeded shuffles keep their order; dropout (functional and tf.layers.Dropout) is off."""
    from tensorflow.python.data.ops import dataset_ops

    def keep_order(self, *args, **kwargs):
        return self

    dataset_ops.DatasetV2.shuffle = keep_order
    dataset_ops.DatasetV1.shuffle = keep_order
    nn.dropout = lambda x, *args, **kwargs: x
    tensorflow.compat.v1.layers.Dropout.call = lambda self, inputs, training=False: inputs


class _LogReader:
    """Collects `loss = X, step = N`, `Loss for final step: X.` and MNIST's prediction lines."""

    STEP = re.compile(r"loss = ([-+.\deE]+), step = (\d+)")
    FINAL = re.compile(r"Loss for final step: ([-+.\deE]+)")
    PREDICTION = re.compile(r'Prediction is "(\d+)" \(([\d.]+)%\)')

    def __init__(self):
        import logging

        self.by_step, self.final, self.predictions = {}, None, []
        log = self

        class Handler(logging.Handler):
            def emit(self, record):
                text = record.getMessage()
                if m := log.STEP.search(text):
                    log.by_step[int(m.group(2))] = float(m.group(1))
                if m := log.FINAL.search(text):
                    log.final = float(m.group(1).rstrip("."))
                if m := log.PREDICTION.search(text):
                    log.predictions.append([int(m.group(1)), float(m.group(2))])

        handler = Handler()
        for name in ("", "tensorflow", "estimator_core"):
            logging.getLogger(name).addHandler(handler)
        # The engine logs to "estimator_core", which the scripts' set_verbosity(INFO) (on the
        # "tensorflow" and absl loggers) does not reach.
        logging.getLogger("estimator_core").setLevel(logging.INFO)
        logging.getLogger("tensorflow").setLevel(logging.INFO)  # MNIST sets only absl's
        # Nothing prints the engine's INFO lines in a plain script; show them in the child's log.
        logging.getLogger("estimator_core").addHandler(logging.StreamHandler(sys.stderr))


def _parse_flags(values: dict) -> None:
    from absl import flags

    flags.FLAGS([sys.argv[0], *(f"--{k}={v}" for k, v in values.items())])


def _bert_init_checkpoint(tf, run_classifier, modeling, data_dir: str, path: str) -> None:
    with tf.Graph().as_default():
        tf.set_random_seed(7)
        ids = tf.placeholder(tf.int32, [None, SEQ_LEN])
        config = modeling.BertConfig.from_json_file(os.path.join(data_dir, "bert_config.json"))
        run_classifier.create_model(config, False, ids, ids, ids, ids[:, 0], 2, False)
        saver = tf.train.Saver(tf.trainable_variables())
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            saver.save(session, path)


def _run_bert(tensorflow, side: str, work: str, out: str) -> dict:
    tf = tensorflow
    if side == "original":
        import tf_slim

        tf = tensorflow.compat.v1
        tf.disable_v2_behavior()  # TF1 semantics the scripts were written for (Dimension.value)

        class Contrib:
            tpu = tf.estimator.tpu
            layers = tf_slim.layers
            data = tensorflow.data.experimental
            cluster_resolver = tensorflow.distribute.cluster_resolver

        tf.contrib = Contrib
    import modeling
    import run_classifier

    _without_randomness(tensorflow, tf.nn)
    data_dir = os.path.join(work, "data")
    init = os.path.join(work, "init", "bert_init.ckpt")
    if side == "original":
        _bert_init_checkpoint(tf, run_classifier, modeling, data_dir, init)
    _parse_flags(
        {
            **FLAGS,
            "data_dir": data_dir,
            "vocab_file": os.path.join(data_dir, "vocab.txt"),
            "bert_config_file": os.path.join(data_dir, "bert_config.json"),
            "init_checkpoint": init,
            "output_dir": out,
        }
    )
    run_classifier.main(None)
    with open(os.path.join(out, "eval_results.txt")) as f:
        evaluation = dict(line.strip().split(" = ") for line in f if line.strip())
    with open(os.path.join(out, "test_results.tsv")) as f:
        predictions = [[float(p) for p in line.split("\t")] for line in f]
    return {"eval": {k: float(v) for k, v in evaluation.items()}, "predictions": predictions}


def _mnist_init_checkpoint(tensorflow, mnist, path: str) -> None:
    """The MNIST model's variables, Glorot-uniform kernels and zero biases drawn by NumPy with
    a fixed seed (Keras' own initializers are not reproducible across processes), as step 0."""
    import numpy as np

    rng = np.random.RandomState(7)
    v1 = tensorflow.compat.v1
    with tensorflow.Graph().as_default():
        v1.train.get_or_create_global_step()
        images = v1.placeholder(tensorflow.float32, [None, 28, 28, 1])
        labels = v1.placeholder(tensorflow.int64, [None])
        mnist.model_fn(images, labels, v1.estimator.ModeKeys.TRAIN, {})
        saver = v1.train.Saver(save_relative_paths=True)
        with v1.Session() as session:
            session.run(v1.global_variables_initializer())
            for var in v1.trainable_variables():
                shape = var.shape.as_list()
                if len(shape) == 1:
                    value = np.zeros(shape)
                else:
                    fan_in, fan_out = np.prod(shape[:-1]), shape[-1] * np.prod(shape[:-2])
                    limit = np.sqrt(6.0 / (fan_in + fan_out))
                    value = rng.uniform(-limit, limit, shape)
                var.load(value.astype(np.float32), session)
            saver.save(session, os.path.join(path, "model.ckpt"), global_step=0)


def _run_mnist(tensorflow, side: str, work: str, out: str) -> dict:
    import mnist_tpu

    _without_randomness(tensorflow, tensorflow.nn)
    init = os.path.join(work, "init")
    _parse_flags({**MNIST_FLAGS, "data_dir": os.path.join(work, "data"), "model_dir": out})
    if side == "original":
        _mnist_init_checkpoint(tensorflow, mnist_tpu, init)
    shutil.copytree(init, out)  # both start from the same step-0 checkpoint in model_dir
    mnist_tpu.main(None)
    return {"eval": {}, "predictions": []}


def _run_script(client: str, side: str, work: str, out: str) -> dict:
    """A tensorflow/tpu script (resnet_main.py, efficientnet's main.py) as `python SCRIPT FLAGS`
    runs it; the engine side starts from the original side's step-0 checkpoint (same weights)."""
    import logging
    import runpy

    import numpy as np

    _, folder, script, flag_values = SCRIPT_CLIENTS[client]
    src = sys.path[0]
    sys.path.insert(1, os.path.join(src, folder))  # its `import resnet_layers`, `import utils`
    original = os.path.join(work, "out_original")
    if side == "engine" and os.path.isdir(original):  # else an engine-only run (tests/bench)
        os.makedirs(out)
        for name in os.listdir(original):
            if name.startswith("model.ckpt-0."):
                shutil.copy(os.path.join(original, name), out)
        with open(os.path.join(out, "checkpoint"), "w") as f:
            f.write('model_checkpoint_path: "model.ckpt-0"\n')
    results = []

    class EvalResults(logging.Handler):
        def emit(self, record):
            # The dict itself, not its text: evaluate returns NumPy scalars, which NumPy 2
            # prints as np.float32(0.7).
            if str(record.msg).startswith("Eval results at step"):
                metrics = record.args[-1]
                results.append({k: np.asarray(v).tolist() for k, v in metrics.items()})

    logging.getLogger("").addHandler(EvalResults())
    logging.getLogger("tensorflow").addHandler(EvalResults())
    sys.argv = [script, *(f"--{k}={v}" for k, v in {**flag_values, "model_dir": out}.items())]
    try:
        runpy.run_path(os.path.join(src, folder, script), run_name="__main__")
    except SystemExit as e:
        if e.code:
            raise
    return {
        "eval": {k: float(v) for k, v in results[-1].items()},
        "predictions": [],
    }


def _run_side(client: str, side: str, src: str, work: str) -> dict:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, src)
    import tensorflow

    out = os.path.join(work, f"out_{side}")
    shutil.rmtree(out, ignore_errors=True)
    log = _LogReader()
    started = time.perf_counter()
    if client in SCRIPT_CLIENTS:
        result = _run_script(client, side, work, out)
    else:
        result = {"bert": _run_bert, "mnist": _run_mnist}[client](tensorflow, side, work, out)
    result["seconds"] = time.perf_counter() - started  # the client's run, imports excluded
    if log.predictions:
        result["predictions"] = log.predictions
    return {
        **result,
        "tensorflow": tensorflow.__version__,
        "loss_by_step": log.by_step,
        "final_loss": log.final,
        "checkpoint": tensorflow.train.latest_checkpoint(out),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--client", required=True, choices=["bert", "mnist", *SCRIPT_CLIENTS])
    parser.add_argument("--side", required=True, choices=["original", "engine"])
    parser.add_argument("--src", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args(argv)
    print(json.dumps(_run_side(args.client, args.side, args.src, args.work)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
