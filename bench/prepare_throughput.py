"""Rows/s of prepare (Beam, in-process runner) vs a plain single-process loop writing the same TFRecords.

Run: python -m bench.prepare_throughput [--rows 200000] [--workers 2] [--mode multi_processing]
Library: measure(rows, workers, mode) -> dict (rows/s of both and their ratio).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import tempfile
import time

from bench.scratch import cleaned_up

COLUMNS = ("id", "age", "income", "score", "city", "segment", "clicks", "label")


def generate_csv(path: str, rows: int, seed: int = 0) -> None:
    """A mixed-type table with ~2% missing values per feature column."""
    rng = random.Random(seed)
    cities = [f"city_{i}" for i in range(50)]
    with open(path, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(COLUMNS)
        for i in range(rows):
            row = [
                i,
                rng.randint(18, 90),
                round(rng.lognormvariate(10, 1), 2),
                round(rng.random(), 4),
                rng.choice(cities),
                rng.choice("abcd"),
                rng.randint(0, 500),
                rng.choice(("yes", "no")),
            ]
            out.writerow(
                ["NA" if 0 < k < 7 and rng.random() < 0.02 else v for k, v in enumerate(row)]
            )


def plain_loop(src: str, out_dir: str, splits: dict[str, float]) -> int:
    """The baseline: csv module, tf.train.Example, one gzip TFRecordWriter per split."""
    import tensorflow as tf

    from components.prepare.splits import SplitAssigner

    assign = SplitAssigner(splits)
    types = {"id": int, "age": int, "income": float, "score": float, "clicks": int}
    writers = {}
    for name in splits:
        os.makedirs(f"{out_dir}/Split-{name}", exist_ok=True)
        writers[name] = tf.io.TFRecordWriter(
            f"{out_dir}/Split-{name}/data.tfrecord.gz",
            tf.io.TFRecordOptions(compression_type="GZIP"),
        )
    rows = 0
    with open(src, newline="") as f:
        header = f.readline().rstrip("\n").split(",")
        for line in f:
            line = line.rstrip("\n")
            example = tf.train.Example()
            feature = example.features.feature
            for name, text in zip(header, line.split(",")):
                if text in ("", "NA"):
                    continue
                kind = types.get(name, str)
                if kind is int:
                    feature[name].int64_list.value.append(int(text))
                elif kind is float:
                    feature[name].float_list.value.append(float(text))
                else:
                    feature[name].bytes_list.value.append(text.encode())
            writers[assign(line)].write(example.SerializeToString())
            rows += 1
    for writer in writers.values():
        writer.close()
    return rows


def measure(rows: int = 200_000, workers: int = 2, mode: str | None = None) -> dict:
    """Times the plain loop and prepare over the same generated CSV of `rows` rows.

    `mode` None is prepare's own choice for `workers` (in memory for small inputs, see
    components.prepare.runner). Returns rows, workers, the mode used, seconds and rows/s of
    both, and `ratio` (prepare rows/s over plain-loop rows/s; the goal is >= 0.7).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow  # noqa: F401  - import cost is not part of either measurement

    from components import prepare
    from components.prepare.runner import pipeline_options

    root = tempfile.mkdtemp(prefix="prepare-bench-")
    try:
        src = os.path.join(root, "input.csv")
        generate_csv(src, rows)
        splits = {"train": 0.8, "eval": 0.2}
        used = pipeline_options(
            direct_num_workers=workers,
            direct_running_mode=mode,
            input_bytes=os.path.getsize(src),
        ).get_all_options()["direct_running_mode"]

        started = time.perf_counter()
        plain_rows = plain_loop(src, os.path.join(root, "plain"), splits)
        plain_s = time.perf_counter() - started

        started = time.perf_counter()
        result = prepare.run(
            [src],
            os.path.join(root, "beam"),
            label="label",
            splits=splits,
            direct_num_workers=workers,
            direct_running_mode=mode,
        )
        prepare_s = time.perf_counter() - started
        assert result.input_rows == plain_rows == rows, (result, plain_rows)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "rows": rows,
        "workers": workers,
        "mode": used,
        "plain_s": plain_s,
        "plain_rows_per_s": rows / plain_s,
        "prepare_s": prepare_s,
        "prepare_rows_per_s": rows / prepare_s,
        "ratio": plain_s / prepare_s,
    }


@cleaned_up
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prepare_throughput", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="direct_num_workers for prepare")
    parser.add_argument(
        "--mode",
        default=None,
        help="direct_running_mode (default: prepare's choice for the worker count and input size)",
    )
    args = parser.parse_args(argv)
    m = measure(args.rows, args.workers, args.mode)
    table = [
        ("plain loop (1 process)", m["plain_s"]),
        (f"prepare ({m['workers']} worker(s), {m['mode']})", m["prepare_s"]),
    ]
    print(f"{'':40s} {'rows':>9s} {'seconds':>8s} {'rows/s':>9s}")
    for name, seconds in table:
        print(f"{name:40s} {m['rows']:9d} {seconds:8.2f} {m['rows'] / seconds:9.0f}")
    print(f"ratio prepare / plain: {m['ratio']:.2f}x (goal >= 0.7x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
