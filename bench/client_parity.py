"""Real-client parity: TPU-era scripts on the original TPUEstimator and, after `tpuest migrate`,
on this engine, with the same tiny data and initial weights.

    python -m bench.client_parity [--bert DIR] [--mnist FILE] [--resnet DIR]
                                  [--legacy-python PY] [--work DIR]

--bert is a checkout of google-research/bert (run_classifier.py, modeling.py, optimization.py,
tokenization.py); --mnist is tensorflow/tpu's models/official/mnist/mnist_tpu.py; --resnet is
tensorflow/tpu's models/ directory (official/resnet, common, hyperparameters). None of their
code is kept in this repository. The original side runs under a TensorFlow 2.15 +
tensorflow-estimator 2.15 + tf-slim Python (see bench/legacy_peer.py); the engine side runs the
`tpuest migrate` output unedited, in TF2 behavior.

BERT (tiny config: 2 layers, hidden 32, dropout 0; 32 train / 13 dev / 10 test CoLA-style
sentences; 10 steps; init_checkpoint written once by the original side): on 2.15 its
`import tensorflow as tf` is read as `tensorflow.compat.v1`, `tf.contrib` gets its 2.15 homes
(tpu -> tf.compat.v1.estimator.tpu, layers.layer_norm -> tf_slim's copy of contrib's, data ->
tf.data.experimental) and TF1 behavior is on (`disable_v2_behavior()`: it reads
`shape[-1].value`). Warm-up + polynomial-decay learning rate from the global step,
AdamWeightDecay with the grouped global-step increment, init_from_checkpoint in model_fn and the
partial eval and predict batches run as written.

MNIST (64/32/10 synthetic 28x28 images, batch 16, 10 steps, --tpu=local): it runs on 2.15 as
written; both sides start from one step-0 checkpoint placed in model_dir (NumPy-drawn weights).

ResNet (resnet_main.py, depth 18, 32x32 images from the script's own null input, batch 8, 4
steps of 2-step loops, train_and_eval; needs pyyaml in the 2.15 Python): batch norm with
UPDATE_OPS, weight decay, the warm-up learning rate, host_call with TF2 summaries and
params['use_tpu'] as written; the engine side starts from the original side's step-0 checkpoint.

Both sides switch off what neither engine can make equal across two different graphs: unseeded
`shuffle`s of the training records and dropout (BERT's hard-coded classifier dropout, MNIST's
tf.layers.Dropout). Reported per client: the last step's loss, the eval metrics, the
predictions, the largest absolute difference of every checkpoint variable and the scalar tags
of the training and eval events.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "mat", "a", "big", "red"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
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
CONFIG = {
    "attention_probs_dropout_prob": 0.0,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.0,
    "hidden_size": 32,
    "initializer_range": 0.02,
    "intermediate_size": 64,
    "max_position_embeddings": 64,
    "num_attention_heads": 2,
    "num_hidden_layers": 2,
    "type_vocab_size": 2,
    "vocab_size": len(VOCAB),
}
BERT_FILES = ("run_classifier.py", "modeling.py", "optimization.py", "tokenization.py")
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


def write_data(data_dir: str) -> None:
    """CoLA-format toy sentences (label 1 when "cat" occurs), the vocab and the BERT config."""
    import numpy as np

    rng = np.random.RandomState(0)
    os.makedirs(data_dir, exist_ok=True)

    def sentences(n):
        return [" ".join(rng.choice(WORDS, rng.randint(3, 7))) for _ in range(n)]

    for split, n in (("train", 32), ("dev", 13)):
        rows = [f"s{i}\t{int('cat' in s.split())}\t*\t{s}\n" for i, s in enumerate(sentences(n))]
        with open(os.path.join(data_dir, f"{split}.tsv"), "w") as f:
            f.writelines(rows)
    with open(os.path.join(data_dir, "test.tsv"), "w") as f:
        f.write("index\tsentence\n")
        f.writelines(f"{i}\t{s}\n" for i, s in enumerate(sentences(10)))
    with open(os.path.join(data_dir, "vocab.txt"), "w") as f:
        f.write("\n".join(VOCAB) + "\n")
    with open(os.path.join(data_dir, "bert_config.json"), "w") as f:
        json.dump(CONFIG, f)


def write_mnist_data(data_dir: str) -> None:
    """MNIST-format TFRecords (28x28 uint8 `image_raw`, int64 `label`): noise plus a bright row
    at 2 * label, 64 train, 32 validation and 10 test images."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.RandomState(0)
    os.makedirs(data_dir, exist_ok=True)
    for split, n in (("train", 64), ("validation", 32), ("test", 10)):
        with tf.io.TFRecordWriter(os.path.join(data_dir, f"{split}.tfrecords")) as writer:
            for i in range(n):
                label = i % 10
                image = rng.randint(0, 64, (28, 28)).astype(np.uint8)
                image[2 * label] = 255
                feature = {
                    "image_raw": tf.train.Feature(
                        bytes_list=tf.train.BytesList(value=[image.tobytes()])
                    ),
                    "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[label])),
                }
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString())


def copy_original(bert_dir: str, out: str) -> None:
    """The scripts as written, but for `import tensorflow as tf` -> `tensorflow.compat.v1`."""
    os.makedirs(out, exist_ok=True)
    for name in BERT_FILES:
        with open(os.path.join(bert_dir, name)) as f:
            text = f.read()
        if text.count("\nimport tensorflow as tf\n") != 1:
            raise ValueError(f"{bert_dir}/{name}: expected one `import tensorflow as tf` line")
        text = text.replace("\nimport tensorflow as tf\n", "\nimport tensorflow.compat.v1 as tf\n")
        with open(os.path.join(out, name), "w") as f:
            f.write(text)


# ---- executed in the child process, under either Python ----------------------------------


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


def _run_resnet(tensorflow, side: str, work: str, out: str) -> dict:
    """resnet_main.py as `python resnet_main.py FLAGS` runs it; the engine side starts from the
    original side's step-0 checkpoint (same initial weights)."""
    import ast
    import logging
    import runpy

    src = sys.path[0]
    sys.path.insert(1, os.path.join(src, "official", "resnet"))  # its `import resnet_layers`
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
            text = record.getMessage()
            if text.startswith("Eval results at step"):
                results.append(ast.literal_eval(text.split(": ", 1)[1]))

    logging.getLogger("").addHandler(EvalResults())
    logging.getLogger("tensorflow").addHandler(EvalResults())
    sys.argv = [
        "resnet_main.py",
        *(f"--{k}={v}" for k, v in {**RESNET_FLAGS, "model_dir": out}.items()),
    ]
    try:
        runpy.run_path(
            os.path.join(src, "official", "resnet", "resnet_main.py"), run_name="__main__"
        )
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
    run = {"bert": _run_bert, "mnist": _run_mnist, "resnet": _run_resnet}[client]
    result = run(tensorflow, side, work, out)
    if log.predictions:
        result["predictions"] = log.predictions
    return {
        **result,
        "tensorflow": tensorflow.__version__,
        "loss_by_step": log.by_step,
        "final_loss": log.final,
        "checkpoint": tensorflow.train.latest_checkpoint(out),
    }


# ---- the comparison, in the main environment -----------------------------------------------


def _child(python: str, client: str, side: str, src: str, work: str) -> dict:
    cmd = [python, os.path.abspath(__file__), "--client", client, "--side", side]
    cmd += ["--src", src, "--work", work]
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
    log_path = os.path.join(work, f"{side}.log")
    with open(log_path, "w") as f:
        f.write(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"{side} run failed (log: {log_path}): {proc.stderr[-3000:]}")
    with open(os.path.join(work, f"{side}.json"), "w") as f:
        f.write(proc.stdout.strip().splitlines()[-1])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def compare_checkpoints(a: str, b: str) -> dict:
    import numpy as np
    import tensorflow as tf

    ra, rb = tf.train.load_checkpoint(a), tf.train.load_checkpoint(b)
    names_a, names_b = set(ra.get_variable_to_shape_map()), set(rb.get_variable_to_shape_map())
    diffs = {
        name: float(np.max(np.abs(ra.get_tensor(name) - rb.get_tensor(name))))
        for name in sorted(names_a & names_b)
        if np.asarray(ra.get_tensor(name)).dtype.kind == "f"
    }
    return {
        "only_original": sorted(names_a - names_b),
        "only_engine": sorted(names_b - names_a),
        "max_abs_diff": max(diffs.values()),
        "worst": max(diffs, key=diffs.get),
        "variables_compared": len(diffs),
        "global_step": [int(ra.get_tensor("global_step")), int(rb.get_tensor("global_step"))],
    }


def train_events(model_dir: str) -> dict:
    """Scalar summaries (TF1 and TF2) of the events files in `model_dir`: {tag: {step: value}}."""
    import glob

    import tensorflow as tf

    scalars: dict = {}
    for path in sorted(glob.glob(os.path.join(model_dir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    scalars.setdefault(value.tag, {})[event.step] = value.simple_value
                elif value.HasField("tensor") and not value.tensor.tensor_shape.dim:
                    number = tf.make_ndarray(value.tensor)
                    if number.dtype.kind in "fiu":  # TF2 tf.summary.scalar (host_call)
                        scalars.setdefault(value.tag, {})[event.step] = float(number)
    return scalars


def _sources(client: str, path: str, work: str) -> tuple[str, str]:
    """(original, migrated) source dirs under `work`; the migrated one by tpuest migrate."""
    from estimator_core.migrate import migrate_paths

    original, migrated = os.path.join(work, "original"), os.path.join(work, "migrated")
    if client == "bert":
        copy_original(path, original)
        names = [os.path.join(path, n) for n in BERT_FILES]
    elif client == "mnist":  # it imports tensorflow.compat.v1 already: runs on 2.15 as written
        os.makedirs(original)
        shutil.copy(path, os.path.join(original, "mnist_tpu.py"))
        names = [path]
    else:  # resnet: the models/ directory of tensorflow/tpu, also run on 2.15 as written
        for name in RESNET_DIRS:
            shutil.copytree(os.path.join(path, name), os.path.join(original, name))
            shutil.copytree(os.path.join(path, name), os.path.join(migrated, name))
        names = []
    os.makedirs(migrated, exist_ok=True)
    for name in names:
        shutil.copy(name, migrated)
    results = migrate_paths([migrated], in_place=True)
    manual = [f"{r.path}:{p.line}" for r in results for p in r.manual]
    # ResNet's Bigtable input and async checkpointing stay manual; they run only when asked for.
    if manual and client != "resnet":
        raise RuntimeError(f"tpuest migrate left lines to convert by hand: {manual}")
    return original, migrated


def compare(client: str, path: str, legacy_python: str, work: str) -> dict:
    """Runs `client` (bert | mnist) from `path` on both engines under `work`; the differences."""
    import numpy as np

    shutil.rmtree(work, ignore_errors=True)
    if client != "resnet":
        (write_data if client == "bert" else write_mnist_data)(os.path.join(work, "data"))
    original_src, engine_src = _sources(client, path, work)
    original = _child(legacy_python, client, "original", original_src, work)
    engine = _child(sys.executable, client, "engine", engine_src, work)
    runs = (("original", original), ("engine", engine))
    events = {side: train_events(os.path.dirname(r["checkpoint"])) for side, r in runs}
    evals = {
        side: train_events(os.path.join(os.path.dirname(r["checkpoint"]), "eval"))
        for side, r in runs
    }
    if client == "mnist":  # the script returns nothing from evaluate: read its eval events
        for side, result in runs:
            result["eval"] = {tag: max(v.items())[1] for tag, v in evals[side].items()}
    return {
        "client": client,
        "original": original,
        "engine": engine,
        "final_loss_abs_diff": abs(original["final_loss"] - engine["final_loss"]),
        "eval_abs_diff": {
            k: abs(v - engine["eval"].get(k, float("nan"))) for k, v in original["eval"].items()
        },
        "predictions_max_abs_diff": float(
            np.max(np.abs(np.array(original["predictions"]) - np.array(engine["predictions"])))
        )
        if original["predictions"]
        else None,
        "weights": compare_checkpoints(original["checkpoint"], engine["checkpoint"]),
        "train_events": events,
        "eval_event_tags": {side: sorted(e) for side, e in evals.items()},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bert", help="google-research/bert checkout (run_classifier.py, ...)")
    parser.add_argument("--mnist", help="tensorflow/tpu models/official/mnist/mnist_tpu.py")
    parser.add_argument("--resnet", help="tensorflow/tpu models/ (official/resnet, common, ...)")
    parser.add_argument("--legacy-python", default="/work/legacy-venv/bin/python")
    parser.add_argument("--work", default="/tmp/tpuest-client-parity")
    parser.add_argument("--client", choices=["bert", "mnist", "resnet"], help=argparse.SUPPRESS)
    parser.add_argument("--side", choices=["original", "engine"], help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:  # a child run
        print(json.dumps(_run_side(args.client, args.side, args.src, args.work)))
        return 0
    if args.bert and not all(os.path.exists(os.path.join(args.bert, n)) for n in BERT_FILES):
        parser.error(f"--bert must be a directory holding {', '.join(BERT_FILES)}")
    if args.mnist and not os.path.isfile(args.mnist):
        parser.error(f"--mnist {args.mnist} is not a file")
    if args.resnet and not os.path.isfile(
        os.path.join(args.resnet, "official", "resnet", "resnet_main.py")
    ):
        parser.error(f"--resnet {args.resnet} has no official/resnet/resnet_main.py")
    if not (args.bert or args.mnist or args.resnet):
        parser.error("give --bert DIR, --mnist FILE and/or --resnet DIR")
    reports = []
    for client, path in (("bert", args.bert), ("mnist", args.mnist), ("resnet", args.resnet)):
        if path:
            work = os.path.join(os.path.abspath(args.work), client)
            reports.append(compare(client, path, args.legacy_python, work))
            with open(os.path.join(work, "parity.json"), "w") as f:
                json.dump(reports[-1], f, indent=1)
    print(json.dumps(reports, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
