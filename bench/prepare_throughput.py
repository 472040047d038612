"""Rows/s of prepare (Beam, in-process runner) vs a plain single-process loop writing the same TFRecords.

Run: python -m bench.prepare_throughput [--rows 200000] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import shutil
import tempfile
import time

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.prepare_throughput", description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2, help="direct_num_workers for prepare")
    parser.add_argument("--mode", default="multi_processing", help="direct_running_mode")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from components import prepare

    mode = args.mode if args.workers != 1 else "in_memory"
    root = tempfile.mkdtemp(prefix="prepare-bench-")
    try:
        src = os.path.join(root, "input.csv")
        generate_csv(src, args.rows)
        splits = {"train": 0.8, "eval": 0.2}
        import tensorflow  # noqa: F401  - import cost is not part of either measurement

        started = time.perf_counter()
        plain_rows = plain_loop(src, os.path.join(root, "plain"), splits)
        plain_s = time.perf_counter() - started

        started = time.perf_counter()
        result = prepare.run(
            [src],
            os.path.join(root, "beam"),
            label="label",
            splits=splits,
            direct_num_workers=args.workers,
            direct_running_mode=mode,
        )
        beam_s = time.perf_counter() - started
        assert result.input_rows == plain_rows == args.rows, (result, plain_rows)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    table = [
        ("plain loop (1 process)", plain_rows, plain_s),
        (f"prepare ({args.workers} worker(s), {mode})", result.input_rows, beam_s),
    ]
    print(f"{'':34s} {'rows':>9s} {'seconds':>8s} {'rows/s':>9s}")
    for name, rows, seconds in table:
        print(f"{name:34s} {rows:9d} {seconds:8.2f} {rows / seconds:9.0f}")
    print(f"ratio prepare / plain: {plain_s / beam_s:.2f}x (goal >= 0.7x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
