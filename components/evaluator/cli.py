"""`tpuest evaluate`: parse arguments and call components.evaluator.run."""

from __future__ import annotations

import argparse
import glob
import os

from components import artifacts, step_args
from components.cli import UsageError, checkpoint_path, existing_dir, integer, number, output_dir
from components.evaluator.args import EvaluatorArgs
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
    from components.blessing import Threshold

    try:
        Threshold.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


# argparse options per EvaluatorArgs field: only how the text is parsed; EvaluatorArgs validates.
FLAGS = {
    "checkpoint": {"type": checkpoint_path},
    "module_file": {"type": module_source},
    "split": {},
    "thresholds": {"type": threshold, "action": "append", "metavar": "RULE"},
    "baseline_model_dir": {"type": existing_dir},
    "compare_metric": {},
    "tolerance": {"type": number},
    "slice_by": {"action": "append", "metavar": "FEATURE"},
    "batch_size": {"type": integer},
}


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
    step_args.add_flags(parser, EvaluatorArgs, FLAGS)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    evaluator_args = step_args.from_namespace(EvaluatorArgs, args, "evaluate")
    _check_split(args.examples, evaluator_args.split)
    from components import evaluator

    try:
        result = evaluator.run(args.examples, args.model_dir, args.output, evaluator_args)
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
