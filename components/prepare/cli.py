"""`tpuest prepare`: parse arguments and call components.prepare.run."""

from __future__ import annotations

import argparse

from components.cli import (
    beam_flag,
    existing_file,
    fraction,
    matching_pattern,
    non_negative_int,
    nonempty,
    output_dir,
)
from components.prepare.rows import NUMERIC_PERCENT
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


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="CSV / JSON Lines -> split tf.Example TFRecords, schema, stats, dead letters",
        description="Turn raw table files into OUT/Split-<name>/*.tfrecord.gz, OUT/schema.json,\n"
        "OUT/stats.json and OUT/dead_letter/*.jsonl, plus TFX's OUT/schema.pbtxt and\n"
        "OUT/statistics/Split-<name>/FeatureStats.pb, with Apache Beam (in-process FnApiRunner unless\n"
        "--beam-option=--runner=... names another). Without --schema, a column is numeric when\n"
        f"at least {NUMERIC_PERCENT}% of its non-empty values are numbers; its other values become\n"
        "dead letters.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        type=matching_pattern,
        metavar="INPUT",
        help="file paths or glob patterns",
    )
    parser.add_argument(
        "--input",
        action="append",
        type=matching_pattern,
        default=[],
        dest="more_inputs",
        metavar="INPUT",
        help="repeatable; like INPUT",
    )
    parser.add_argument(
        "--output", type=output_dir, required=True, help="output examples directory"
    )
    parser.add_argument(
        "--label", type=nonempty, help="label column (rows missing it are rejected)"
    )
    parser.add_argument(
        "--schema", type=existing_file, help="schema.json to use instead of inferring one"
    )
    parser.add_argument("--format", choices=("csv", "jsonl"), help="override the file extension")
    parser.add_argument("--split-key", type=nonempty, help="column whose value decides the split")
    parser.add_argument(
        "--splits", type=_splits, default="train=0.8,eval=0.2", help="default: %(default)s"
    )
    parser.add_argument(
        "--max-bad-fraction", type=fraction, default=0.05, help="default: %(default)s"
    )
    parser.add_argument(
        "--direct-num-workers", type=non_negative_int, default=1, help="0 = one per CPU"
    )
    parser.add_argument(
        "--direct-running-mode",
        choices=RUNNING_MODES,
        help="default: in_memory for 1 worker, else multi_processing",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --output")
    parser.add_argument(
        "--beam-option",
        action="append",
        type=beam_flag,
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
    check_columns(patterns, args.format, {"--label": args.label, "--split-key": args.split_key})
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
    print(result.summary())
    return 0


def check_columns(patterns: list[str], input_format: str | None, columns: dict) -> None:
    """Refuses a named column (e.g. {"--label": "y"}) missing from the first CSV input's header.

    prepare.run checks the same, but as a library ValueError (exit 1); here the message names
    the option and exits 2, and `pipeline run` finds it before its prepare task starts.

    Raises:
        components.cli.UsageError: naming the option, the file and its columns.
    """
    from components.cli import UsageError
    from components.prepare import inputs

    named = {option: name for option, name in columns.items() if name}
    if not named:
        return
    for path in inputs.match_inputs(patterns):
        fmt = inputs.detect_format(path, input_format)
        if fmt != "csv":  # JSON Lines rows have no common header to check against
            continue
        header = inputs.read_header(path, fmt).header
        for option, name in named.items():
            if name not in header:
                raise UsageError(
                    f"{option} {name!r} is not a column of {path} (columns: {', '.join(header)})"
                )
        return
