"""`tpuest export`: parse arguments and call components.exporter.run."""

from __future__ import annotations

import argparse

from components import step_args
from components.cli import UsageError, checkpoint_path, existing_dir, output_dir
from components.exporter.args import ExporterArgs
from estimator_core.check_model import module_source

EXAMPLE = """example:
  tpuest export --model-dir out/model --evaluation out/eval --export-base out/serving
  tpuest export --model-dir out/model --export-base out/serving --force

Exports only when --evaluation holds BLESSED (or with --force, recorded in push.json):
a SavedModel with `serving_default` (serialized tf.Examples in `examples`),
`serving_default:raw` (one tensor per feature) and `classification` signatures goes to
EXPORT_BASE/<version>/. Not blessed: nothing is exported, the exit code is still 0, and
EXPORT_BASE/push.json says why. A blessing names the weights it judged (a digest of the
checkpoint files): other weights are refused, naming the model that was blessed.
"""


# argparse options per ExporterArgs field: only how the text is parsed; ExporterArgs validates.
FLAGS = {
    "force": {"action": "store_true"},
    "checkpoint": {"type": checkpoint_path},
    "module_file": {"type": module_source},
}


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
    step_args.add_flags(parser, ExporterArgs, FLAGS)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    exporter_args = step_args.from_namespace(ExporterArgs, args, "export")
    if not args.evaluation and not exporter_args.force:
        raise UsageError("export: give --evaluation (the evaluator output) or --force")
    from components import exporter

    result = exporter.run(
        args.model_dir, args.export_base, exporter_args, evaluation_dir=args.evaluation
    )
    if result.pushed:
        print(f"Pushed global_step {result.global_step} ({result.reason}) to {result.export_path}")
    else:
        print(f"Not pushed: {result.reason}")
    return 0
