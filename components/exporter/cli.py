"""`tpuest export`: parse arguments and call components.exporter.run."""

from __future__ import annotations

import argparse

from components.cli import UsageError, checkpoint_path, existing_dir, output_dir
from estimator_core.check_model import module_source

EXAMPLE = """example:
  tpuest export --model-dir out/model --evaluation out/eval --export-base out/serving
  tpuest export --model-dir out/model --export-base out/serving --force

Exports only when --evaluation holds BLESSED (or with --force, recorded in push.json):
a SavedModel with `serving_default` (serialized tf.Examples in `examples`),
`serving_default:raw` (one tensor per feature) and `classification` signatures goes to
EXPORT_BASE/<version>/. Not blessed: nothing is exported, the exit code is still 0, and
EXPORT_BASE/push.json says why.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a blessed model as a SavedModel for serving",
        description="Export a model dir's checkpoint (the evaluated one by default) as a "
        "SavedModel into EXPORT_BASE/<version>/ when the evaluation blessed it.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--model-dir", type=existing_dir, required=True, help="a `tpuest train` model dir"
    )
    parser.add_argument(
        "--export-base", type=output_dir, required=True, help="versions are written under it"
    )
    parser.add_argument(
        "--evaluation", type=existing_dir, help="a `tpuest evaluate` output dir (its marker)"
    )
    parser.add_argument("--force", action="store_true", help="export even if not blessed")
    parser.add_argument(
        "--checkpoint", type=checkpoint_path, help="checkpoint path (default: the evaluated one)"
    )
    parser.add_argument(
        "--module-file", type=module_source, help="override the module recorded by the trainer"
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    if not args.evaluation and not args.force:
        raise UsageError("export: give --evaluation (the evaluator output) or --force")
    from components import exporter

    result = exporter.run(
        args.model_dir,
        args.export_base,
        evaluation_dir=args.evaluation,
        force=args.force,
        checkpoint=args.checkpoint,
        module_file_path=args.module_file,
    )
    if result.pushed:
        print(f"Pushed global_step {result.global_step} ({result.reason}) to {result.export_path}")
    else:
        print(f"Not pushed: {result.reason}")
    return 0
