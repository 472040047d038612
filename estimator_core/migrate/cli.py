"""`tpuest migrate PATH... [--out DIR | --in-place] [--diff]`: parse, call migrate_paths, report."""

from __future__ import annotations

import argparse
import os
import sys

EXAMPLES = """examples:
  tpuest migrate bert/ --out bert_tf2/        # a project, copied with its .py files migrated
  tpuest migrate run_classifier.py --diff     # print what would change; write nothing
  tpuest migrate model.py trainer.py --in-place
"""


def existing_path(text: str) -> str:
    """argparse type: a file or directory that exists."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    if not os.path.exists(text):
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    if os.path.isfile(text) and not text.endswith(".py"):
        raise argparse.ArgumentTypeError(f"{text} is not a .py file")
    return text


def out_dir(text: str) -> str:
    """argparse type: a directory to write into (absent, or a directory)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    if os.path.exists(text) and not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} exists and is not a directory")
    return text


def _main(args: argparse.Namespace) -> int:
    from estimator_core.migrate import format_report, migrate_paths

    results = migrate_paths(args.paths, out=args.out, in_place=args.in_place)
    if args.diff:
        sys.stdout.write("".join(r.diff() for r in results))
    sys.stdout.write(format_report(results))
    if args.out:
        print(f"migrated files, report and diff written under {args.out}")
    elif not args.in_place:
        print("nothing written (use --out DIR or --in-place)")
    return 1 if any(r.manual for r in results) else 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "migrate",
        help="rewrite TPUEstimator-era TF1 code (tf.contrib.tpu, tf.estimator, tf.flags, ...) "
        "to run on TF 2.21 and this engine",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    parser.add_argument("paths", nargs="+", type=existing_path, help=".py files or directories")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", type=out_dir, help="write the migrated tree here")
    where.add_argument("--in-place", action="store_true", help="overwrite the files")
    parser.add_argument("--diff", action="store_true", help="print a unified diff")
    parser.set_defaults(func=_main)
