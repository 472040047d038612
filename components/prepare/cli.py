"""`tpuest prepare`: parse arguments and call components.prepare.run."""

from __future__ import annotations

import argparse

from components import step_args
from components.cli import (
    beam_flag,
    existing_file,
    integer,
    matching_pattern,
    nonempty,
    number,
    output_dir,
)
from components.prepare.args import FORMATS, RUNNING_MODES, PrepareArgs
from components.prepare.rows import NUMERIC_PERCENT

EXAMPLE = """example:
  tpuest prepare components/datasets/penguins.csv --output out/examples --label species
  tpuest prepare 'gs://bucket/raw/*.jsonl' --output gs://bucket/examples --label y \\
      --splits train=0.7,eval=0.2,test=0.1 --split-key user_id \\
      --beam-option=--runner=DataflowRunner --beam-option=--project=my-project
"""


# argparse options per PrepareArgs field: only how the text is parsed; PrepareArgs validates.
FLAGS = {
    "label": {"type": nonempty},
    "schema": {"type": existing_file},
    "split_key": {"type": nonempty},
    "splits": {},
    "max_bad_fraction": {"type": number},
    "input_format": {"choices": FORMATS},
    "beam_options": {"type": beam_flag, "action": "append", "metavar": "FLAG"},
    "direct_num_workers": {"type": integer},
    "direct_running_mode": {"choices": RUNNING_MODES},
    "overwrite": {"action": "store_true"},
    "max_line_bytes": {"type": integer},
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare",
        help="CSV / JSON Lines -> split tf.Example TFRecords, schema, stats, dead letters",
        description="Turn raw table files into OUT/Split-<name>/*.tfrecord.gz, OUT/schema.json,\n"
        "OUT/stats.json and OUT/dead_letter/*.jsonl, plus TFX's OUT/schema.pbtxt and\n"
        "OUT/statistics/Split-<name>/FeatureStats.pb, with Apache Beam (in-process FnApiRunner unless\n"
        "--beam-option=--runner=... names another). Without --schema, a column is numeric when\n"
        f"at least {NUMERIC_PERCENT}% of its non-empty values are numbers; its other values become\n"
        "dead letters. --output may not be an input, the working or the home directory, nor a\n"
        "directory above one of them.",
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
    step_args.add_flags(parser, PrepareArgs, FLAGS)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    from components.cli import UsageError

    prepare_args = step_args.from_namespace(PrepareArgs, args, "prepare")
    patterns = list(args.inputs) + list(args.more_inputs)
    if not patterns:
        raise UsageError("prepare: give at least one INPUT path or pattern (or --input)")
    check_columns(
        patterns, args.input_format, {"--label": args.label, "--split-key": args.split_key}
    )
    from components import prepare

    result = prepare.run(patterns, args.output, prepare_args)
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
