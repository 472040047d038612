"""`tpuest prepare`: parse arguments and call components.prepare.run."""

from __future__ import annotations

import argparse

from components.prepare.runner import RUNNING_MODES
from components.prepare.splits import parse_splits

EXAMPLE = """example:
  tpuest prepare components/datasets/penguins.csv --output out/examples --label species
  tpuest prepare 'gs://bucket/raw/*.jsonl' --output gs://bucket/examples --label y \\
      --splits train=0.7,eval=0.2,test=0.1 --split-key user_id \\
      --beam-option=--runner=DataflowRunner --beam-option=--project=my-project
"""


def _splits(text: str) -> dict[str, float]:
    try:
        return parse_splits(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value} is not in [0, 1]")
    return value


def _workers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be >= 0 (0 = one per CPU)")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="CSV / JSON Lines -> split tf.Example TFRecords, schema, stats, dead letters",
        description="Turn raw table files into OUT/Split-<name>/*.tfrecord.gz, OUT/schema.json, "
        "OUT/stats.json and OUT/dead_letter/*.jsonl with Apache Beam (in-process by default).",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT", help="file paths or glob patterns")
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        dest="more_inputs",
        metavar="INPUT",
        help="repeatable; like INPUT",
    )
    parser.add_argument("--output", required=True, help="output examples directory")
    parser.add_argument("--label", help="label column (rows missing it are rejected)")
    parser.add_argument("--schema", help="schema.json to use instead of inferring one")
    parser.add_argument("--format", choices=("csv", "jsonl"), help="override the file extension")
    parser.add_argument("--split-key", help="column whose value decides the split")
    parser.add_argument(
        "--splits", type=_splits, default="train=0.8,eval=0.2", help="default: %(default)s"
    )
    parser.add_argument(
        "--max-bad-fraction", type=_fraction, default=0.05, help="default: %(default)s"
    )
    parser.add_argument("--direct-num-workers", type=_workers, default=1, help="0 = one per CPU")
    parser.add_argument(
        "--direct-running-mode",
        choices=RUNNING_MODES,
        help="default: in_memory for 1 worker, else multi_processing",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output")
    parser.add_argument(
        "--beam-option",
        action="append",
        default=[],
        dest="beam_options",
        metavar="FLAG",
        help="a Beam pipeline flag passed through, repeatable; write it with '=', e.g. "
        "--beam-option=--runner=DataflowRunner",
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from components import prepare
    from components.cli import UsageError

    patterns = list(args.inputs) + list(args.more_inputs)
    if not patterns:
        raise UsageError("prepare: give at least one INPUT path or pattern (or --input)")
    result = prepare.run(
        patterns,
        args.output,
        label=args.label,
        schema=args.schema,
        split_key=args.split_key,
        splits=args.splits,
        max_bad_fraction=args.max_bad_fraction,
        input_format=args.format,
        beam_options=args.beam_options,
        direct_num_workers=args.direct_num_workers,
        direct_running_mode=args.direct_running_mode,
        overwrite=args.overwrite,
    )
    counts = ", ".join(f"{name}={n}" for name, n in result.counts.items())
    print(f"Examples at {result.output_dir}: {counts}, dead letters={result.dead_letter}")
    return 0
