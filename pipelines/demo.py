"""`tpuest demo`: the whole local pipeline on the embedded penguins data, ending in a blessed export."""

from __future__ import annotations

import argparse
import os

from components.cli import output_dir, positive_int


def _main(args: argparse.Namespace) -> int:
    from components.datasets import penguins_csv
    from pipelines.local import run_local, summary

    record = run_local(penguins_csv(), os.path.abspath(args.root), train_steps=args.train_steps)
    print(summary(record))  # ends with the report's path
    return 0 if record.status == "succeeded" else 1


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the local pipeline on the embedded penguins data (prepare, train, evaluate, export)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  tpuest demo --root ./tpuest-demo\n\n"
        "A second run on the same root evaluates against the first run's blessed model.",
    )
    parser.add_argument(
        "--root",
        type=output_dir,
        default="tpuest-demo",
        help="output directory (default: ./tpuest-demo)",
    )
    from pipelines.training_pipeline import DEFAULTS

    parser.add_argument(
        "--train-steps", type=positive_int, default=DEFAULTS["train_steps"], help="training steps"
    )
    parser.set_defaults(func=_main)
