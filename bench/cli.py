"""`tpuest bench`: the benchmarks under bench/ (see `python -m bench --help`)."""

from __future__ import annotations

import argparse


def _main(args: argparse.Namespace) -> int:
    from bench.__main__ import main

    return main(
        (["--quick"] if args.quick else []) + (["--write-results"] if args.write_results else [])
    )


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="run the benchmarks (engine vs raw TF, tf.function, Keras; memory)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  tpuest bench --quick\n  tpuest bench --write-results",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (faster, noisier)")
    parser.add_argument(
        "--write-results", action="store_true", help="write bench/RESULTS.md and the plot"
    )
    parser.set_defaults(func=_main)
