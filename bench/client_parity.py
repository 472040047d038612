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
import shutil
import subprocess
import sys

from bench.client_runs import SCRIPT_CLIENTS

WORDS = ["the", "cat", "dog", "sat", "ran", "on", "mat", "a", "big", "red"]
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
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


# ---- the comparison, in the main environment -----------------------------------------------


def _child(python: str, client: str, side: str, src: str, work: str) -> dict:
    runs = os.path.join(os.path.dirname(os.path.abspath(__file__)), "client_runs.py")
    cmd = [python, runs, "--client", client, "--side", side]
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
    else:  # resnet, efficientnet: the models/ directory of tensorflow/tpu, run on 2.15 as written
        for name in SCRIPT_CLIENTS[client][0]:
            shutil.copytree(os.path.join(path, name), os.path.join(original, name))
            shutil.copytree(os.path.join(path, name), os.path.join(migrated, name))
        names = []
    os.makedirs(migrated, exist_ok=True)
    for name in names:
        shutil.copy(name, migrated)
    results = migrate_paths([migrated], in_place=True)
    manual = [f"{r.path}:{p.line}" for r in results for p in r.manual]
    # The Bigtable input, async checkpointing and EfficientNet's autoaugment (tf.contrib.image)
    # stay manual; they run only when asked for.
    if manual and client not in SCRIPT_CLIENTS:
        raise RuntimeError(f"tpuest migrate left lines to convert by hand: {manual}")
    return original, migrated


def compare(client: str, path: str, legacy_python: str, work: str) -> dict:
    """Runs `client` (bert | mnist) from `path` on both engines under `work`; the differences."""
    import numpy as np

    shutil.rmtree(work, ignore_errors=True)
    if client not in SCRIPT_CLIENTS:
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
        "seconds": {"original": original["seconds"], "engine": engine["seconds"]},
        "train_events": events,
        "eval_event_tags": {side: sorted(e) for side, e in evals.items()},
    }


def results_lines(reports: list[dict]) -> list[str]:
    """The RESULTS.md section: each script client's run time here and on the original."""
    lines = [
        "## TPU-era scripts: wall time of the script's run, original vs migrated",
        "",
        "tensorflow/tpu's ResNet-18 (resnet_main.py) and EfficientNet-b0 (main.py; host_call and",
        "the EMA of the weights on), `mode=train_and_eval`, tiny null-input images, run as written",
        "on tensorflow-estimator 2.15 and after `tpuest migrate` here (bench/client_parity.py;",
        "imports excluded). Give `python -m bench` `--tpu-models DIR --legacy-python PY`.",
        "EfficientNet's weight difference on the null input is the input, not the engine: its",
        "constant images make the gradients ill-conditioned (the engine alone, from step-0 weights",
        "moved by 1e-7, ends further away); with random images the two agree to 1.2e-7",
        "(docs/migration.md).",
        "",
        "| script | original s | engine s | speed vs original | largest weight difference |",
        "|---|---|---|---|---|",
    ]
    for r in reports:
        secs = r["seconds"]
        lines.append(
            f"| {r['client']} | {secs['original']:.1f} | {secs['engine']:.1f} "
            f"| {secs['original'] / secs['engine']:.2f}x | {r['weights']['max_abs_diff']:.1e} |"
        )
    if not reports:
        lines.append("| (not measured: no --tpu-models) | - | - | - | - |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bert", help="google-research/bert checkout (run_classifier.py, ...)")
    parser.add_argument("--mnist", help="tensorflow/tpu models/official/mnist/mnist_tpu.py")
    parser.add_argument("--resnet", help="tensorflow/tpu models/ (official/resnet, common, ...)")
    parser.add_argument("--efficientnet", help="tensorflow/tpu models/ (official/efficientnet)")
    parser.add_argument("--legacy-python", default="/work/legacy-venv/bin/python")
    parser.add_argument("--work", default="/tmp/tpuest-client-parity")
    args = parser.parse_args(argv)
    if args.bert and not all(os.path.exists(os.path.join(args.bert, n)) for n in BERT_FILES):
        parser.error(f"--bert must be a directory holding {', '.join(BERT_FILES)}")
    if args.mnist and not os.path.isfile(args.mnist):
        parser.error(f"--mnist {args.mnist} is not a file")
    for client, (_, folder, script, _) in SCRIPT_CLIENTS.items():
        path = getattr(args, client)
        if path and not os.path.isfile(os.path.join(path, folder, script)):
            parser.error(f"--{client} {path} has no {folder}/{script}")
    clients = [(c, getattr(args, c)) for c in ("bert", "mnist", *SCRIPT_CLIENTS)]
    if not any(path for _, path in clients):
        parser.error("give --bert DIR, --mnist FILE, --resnet DIR and/or --efficientnet DIR")
    reports = []
    for client, path in clients:
        if path:
            work = os.path.join(os.path.abspath(args.work), client)
            reports.append(compare(client, path, args.legacy_python, work))
            with open(os.path.join(work, "parity.json"), "w") as f:
                json.dump(reports[-1], f, indent=1)
    print(json.dumps(reports, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
