"""Real-client parity: Google's BERT `run_classifier.py` on the original TPUEstimator and, after
`tpuest migrate`, on this engine, with the same tiny config, data and initial checkpoint.

    python -m bench.client_parity --bert DIR [--legacy-python PY] [--work DIR]

DIR is a checkout of google-research/bert (run_classifier.py, modeling.py, optimization.py,
tokenization.py); none of its code is kept in this repository. The original side runs under a
TensorFlow 2.15 + tensorflow-estimator 2.15 + tf-slim Python (see bench/legacy_peer.py) with the
scripts' `import tensorflow as tf` read as `tensorflow.compat.v1` and `tf.contrib` given its 2.15
homes (tpu -> tf.compat.v1.estimator.tpu, layers.layer_norm -> tf_slim's copy of contrib's,
data -> tf.data.experimental) and TF1 behavior (`disable_v2_behavior()`: the scripts read
`shape[-1].value`); the engine side runs the `tpuest migrate` output unedited, in TF2 behavior.

Both sides switch off the script's two sources of randomness, which neither engine can make equal
across two different graphs: the unseeded `shuffle` of the training records and the classifier's
hard-coded `dropout(keep_prob=0.9)` (the tiny BERT config has dropout 0 itself). Everything else
(warm-up + polynomial-decay learning rate from the global step, AdamWeightDecay with the grouped
global-step increment, init_from_checkpoint in model_fn, partial eval and predict batches) runs
as written. Printed: the loss logged at step 1 and at the last step, the eval metrics, the
predicted probabilities and the largest absolute difference of every checkpoint variable.
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


def _without_randomness(tf, nn) -> None:
    from tensorflow.python.data.ops import dataset_ops

    def keep_order(self, *args, **kwargs):
        return self

    dataset_ops.DatasetV2.shuffle = keep_order
    dataset_ops.DatasetV1.shuffle = keep_order
    nn.dropout = lambda x, *args, **kwargs: x


class _LossLog:
    """Collects `loss = X, step = N` and `Loss for final step: X.` from any logger."""

    STEP = re.compile(r"loss = ([-+.\deE]+), step = (\d+)")
    FINAL = re.compile(r"Loss for final step: ([-+.\deE]+)")

    def __init__(self):
        import logging

        self.by_step, self.final = {}, None
        log = self

        class Handler(logging.Handler):
            def emit(self, record):
                text = record.getMessage()
                if m := log.STEP.search(text):
                    log.by_step[int(m.group(2))] = float(m.group(1))
                if m := log.FINAL.search(text):
                    log.final = float(m.group(1).rstrip("."))

        for name in ("", "tensorflow", "estimator_core"):
            logging.getLogger(name).addHandler(Handler())


def _write_init_checkpoint(tf, run_classifier, modeling, data_dir: str, path: str) -> None:
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(7)
        ids = tf.placeholder(tf.int32, [None, SEQ_LEN])
        config = modeling.BertConfig.from_json_file(os.path.join(data_dir, "bert_config.json"))
        run_classifier.create_model(config, False, ids, ids, ids, ids[:, 0], 2, False)
        saver = tf.train.Saver(tf.trainable_variables())
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            saver.save(session, path)


def _run_side(side: str, src: str, work: str) -> dict:
    import logging

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.path.insert(0, src)
    import tensorflow

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
    else:
        tf = tensorflow
        # The script's tf.logging.set_verbosity(INFO) reaches only the "tensorflow" logger.
        logging.getLogger("estimator_core").setLevel(logging.INFO)
    _without_randomness(tensorflow, tf.nn)
    losses = _LossLog()
    import modeling
    import run_classifier
    from absl import flags

    data_dir, out = os.path.join(work, "data"), os.path.join(work, f"out_{side}")
    init = os.path.join(work, "init", "bert_init.ckpt")
    if side == "original" and not os.path.exists(init + ".index"):
        _write_init_checkpoint(tf, run_classifier, modeling, data_dir, init)
    shutil.rmtree(out, ignore_errors=True)
    argv = {
        **FLAGS,
        "data_dir": data_dir,
        "vocab_file": os.path.join(data_dir, "vocab.txt"),
        "bert_config_file": os.path.join(data_dir, "bert_config.json"),
        "init_checkpoint": init,
        "output_dir": out,
    }
    flags.FLAGS([sys.argv[0], *(f"--{k}={v}" for k, v in argv.items())])
    run_classifier.main(None)
    with open(os.path.join(out, "eval_results.txt")) as f:
        evaluation = dict(line.strip().split(" = ") for line in f if line.strip())
    with open(os.path.join(out, "test_results.tsv")) as f:
        predictions = [[float(p) for p in line.split("\t")] for line in f]
    return {
        "tensorflow": tensorflow.__version__,
        "loss_by_step": losses.by_step,
        "final_loss": losses.final,
        "eval": {k: float(v) for k, v in evaluation.items()},
        "predictions": predictions,
        "checkpoint": tensorflow.train.latest_checkpoint(out),
    }


# ---- the comparison, in the main environment -----------------------------------------------


def _child(python: str, side: str, src: str, work: str) -> dict:
    cmd = [python, os.path.abspath(__file__), "--side", side, "--src", src, "--work", work]
    env = {**os.environ, "PYTHONPATH": ""}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env)
    log_path = os.path.join(work, f"{side}.log")
    with open(log_path, "w") as f:
        f.write(proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"{side} run failed (log: {log_path}): {proc.stderr[-3000:]}")
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
    """Scalar summaries of the training events file(s): {tag: {step: value}}."""
    import glob

    import tensorflow as tf

    scalars: dict = {}
    for path in sorted(glob.glob(os.path.join(model_dir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.HasField("simple_value"):
                    scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    return scalars


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bert", help="google-research/bert checkout (original scripts)")
    parser.add_argument("--legacy-python", default="/work/legacy-venv/bin/python")
    parser.add_argument("--work", default="/tmp/tpuest-client-parity")
    parser.add_argument("--side", choices=["original", "engine"], help=argparse.SUPPRESS)
    parser.add_argument("--src", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side:  # a child run
        print(json.dumps(_run_side(args.side, args.src, args.work)))
        return 0
    if not args.bert or not all(os.path.exists(os.path.join(args.bert, n)) for n in BERT_FILES):
        parser.error(f"--bert must be a directory holding {', '.join(BERT_FILES)}")
    from estimator_core.migrate import migrate_paths

    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    write_data(os.path.join(work, "data"))
    original_src, engine_src = os.path.join(work, "original"), os.path.join(work, "migrated")
    copy_original(args.bert, original_src)
    os.makedirs(engine_src)
    for name in BERT_FILES:
        shutil.copy(os.path.join(args.bert, name), engine_src)
    results = migrate_paths([engine_src], in_place=True)
    if any(r.manual for r in results):
        raise RuntimeError("tpuest migrate left lines to convert by hand")
    original = _child(args.legacy_python, "original", original_src, work)
    engine = _child(sys.executable, "engine", engine_src, work)
    import numpy as np

    report = {
        "original": original,
        "engine": engine,
        "eval_abs_diff": {
            k: abs(original["eval"][k] - engine["eval"].get(k, float("nan")))
            for k in original["eval"]
        },
        "predictions_max_abs_diff": float(
            np.max(np.abs(np.array(original["predictions"]) - np.array(engine["predictions"])))
        ),
        "weights": compare_checkpoints(original["checkpoint"], engine["checkpoint"]),
        "train_events": {
            side: train_events(os.path.dirname(result["checkpoint"]))
            for side, result in (("original", original), ("engine", engine))
        },
    }
    with open(os.path.join(work, "parity.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
