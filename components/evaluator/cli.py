"""`tpuest evaluate`: parse arguments and call components.evaluator.run."""

from __future__ import annotations

import argparse
import glob
import os

from components import artifacts
from components.cli import (
    UsageError,
    checkpoint_path,
    existing_dir,
    non_negative_float,
    nonempty,
    output_dir,
    positive_int,
)
from estimator_core.check_model import module_source

EXAMPLE = """example:
  tpuest evaluate --examples out/examples --model-dir out/model --output out/eval
  tpuest evaluate --examples out/examples --model-dir out/model2 --output out/eval2 \\
      --threshold "accuracy>=0.9" --threshold "loss<=0.4" \\
      --baseline-model-dir out/model --compare-metric accuracy --tolerance 0.01 \\
      --slice-by island

Writes metrics.json, confusion_matrix.json, slice_metrics.json (with --slice-by),
blessing.json and a BLESSED or NOT_BLESSED marker into --output. Without thresholds and
without a baseline the model is blessed (first run); the exit code is 0 either way.
"""


def threshold(text: str) -> str:
    """argparse type: a blessing rule like 'accuracy>=0.9' (kept as text)."""
    from components.evaluator.blessing import Threshold

    try:
        Threshold.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="evaluate a checkpoint on the eval split and decide its blessing",
        description="Evaluate a model dir's checkpoint (latest by default): metrics, confusion "
        "matrix, per-slice metrics, and a blessing from thresholds and a baseline.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--examples", type=existing_dir, required=True, help="the prepare output directory"
    )
    parser.add_argument(
        "--model-dir", type=existing_dir, required=True, help="a `tpuest train` model dir"
    )
    parser.add_argument("--output", type=output_dir, required=True, help="where the results go")
    parser.add_argument(
        "--checkpoint", type=checkpoint_path, help="checkpoint path (default: the latest)"
    )
    parser.add_argument(
        "--module-file", type=module_source, help="override the module recorded by the trainer"
    )
    parser.add_argument("--split", type=nonempty, default="eval", help="default: %(default)s")
    parser.add_argument(
        "--threshold",
        type=threshold,
        action="append",
        default=[],
        dest="thresholds",
        metavar="RULE",
        help="METRIC OP NUMBER with OP one of >= <= > <, repeatable, e.g. 'accuracy>=0.9'",
    )
    parser.add_argument(
        "--baseline-model-dir", type=existing_dir, help="a model dir to compare against"
    )
    parser.add_argument(
        "--compare-metric", type=nonempty, default="accuracy", help="default: %(default)s"
    )
    parser.add_argument(
        "--tolerance",
        type=non_negative_float,
        default=0.0,
        help="how much worse than the baseline is allowed (default: %(default)s)",
    )
    parser.add_argument(
        "--slice-by",
        type=nonempty,
        action="append",
        default=[],
        metavar="FEATURE",
        help="repeatable",
    )
    parser.add_argument("--batch-size", type=positive_int, default=64, help="default: 64")
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    _check_split(args.examples, args.split)
    from components import evaluator

    try:
        result = _run(evaluator, args)
    except evaluator.UnknownFeatureError as e:
        raise UsageError(f"evaluate: --slice-by: {e}") from None
    verdict = "BLESSED" if result.blessed else "NOT BLESSED"
    metric = "accuracy" if "accuracy" in result.metrics else "loss"
    print(
        f"{verdict}: {result.reason}. global_step={result.global_step}, "
        f"examples={result.example_count}, {metric}={result.metrics[metric]:.4f}; "
        f"results in {result.output_dir}"
    )
    return 0


def _run(evaluator, args: argparse.Namespace):
    return evaluator.run(
        args.examples,
        args.model_dir,
        args.output,
        checkpoint=args.checkpoint,
        module_file_path=args.module_file,
        split=args.split,
        thresholds=args.thresholds,
        baseline_model_dir=args.baseline_model_dir,
        compare_metric=args.compare_metric,
        tolerance=args.tolerance,
        slice_by=args.slice_by,
        batch_size=args.batch_size,
    )


def _check_split(examples: str, split: str) -> None:
    """Refuses a --split the (local) examples dir does not hold, before any model is loaded."""
    if "://" in examples or os.path.isdir(artifacts.split_dir(examples, split)):
        return
    prefix = artifacts.split_dir(examples, "")
    have = sorted(path[len(prefix) :] for path in glob.glob(f"{glob.escape(prefix)}*"))
    raise UsageError(
        f"evaluate: --split {split!r}: {examples} has no {artifacts.SPLIT_PREFIX}{split} "
        f"(splits: {', '.join(have) or 'none'})"
    )
