"""`tpuest pipeline compile|run|runs|schedule`: parse arguments, call the pipelines library."""

from __future__ import annotations

import argparse
import json
import os

EXAMPLES = """examples:
  tpuest pipeline compile -o pipeline.yaml
  tpuest pipeline run --local --input 'data/*.csv' --root runs/
  tpuest pipeline run --local --input 'data/*.csv' --root runs/ --every 6h
  tpuest pipeline runs --root runs/
  tpuest pipeline schedule --host http://kfp:8888 --experiment penguins --cron '0 0 */6 * * *' \\
      --param input_pattern='gs://bucket/data/*.csv'
"""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value


def _every(text: str) -> float:
    from pipelines.local import parse_every

    try:
        return parse_every(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _cron(text: str) -> str:
    if len(text.split()) != 6:
        raise argparse.ArgumentTypeError(
            f"{text!r} must have 6 fields (seconds first, as KFP expects)"
        )
    return text


def _param(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} must look like name=value")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def _compile(args) -> int:
    from pipelines.compile import compile_pipeline

    print(compile_pipeline(args.output))
    return 0


def _run(args) -> int:
    from components.cli import UsageError
    from pipelines.local import Schedule, run_local, summary

    if not args.local:
        raise UsageError("only --local runs start from here; use `schedule` for Kubeflow")

    def once():
        record = run_local(
            args.input,
            args.root,
            label=args.label,
            module_file=args.module_file,
            train_steps=args.train_steps,
            train_batch_size=args.train_batch_size,
            iterations_per_loop=args.iterations_per_loop,
            replicas=args.replicas,
            thresholds=args.threshold or ("accuracy>=0.9",),
            beam_options=args.beam_options,
        )
        print(summary(record), flush=True)

    if args.every:
        Schedule(args.every).run(once)
    else:
        once()
    return 0


def _runs(args) -> int:
    from pipelines.index import format_table, load

    records = load(os.path.abspath(args.root))
    print(format_table(records) if records else f"no runs under {args.root}")
    return 0


def _schedule(args) -> int:
    from pipelines.schedule import schedule

    print(
        schedule(
            args.host,
            args.experiment,
            args.cron,
            name=args.name,
            parameters=dict(args.param),
            max_concurrency=args.max_concurrency,
            catchup=args.catchup,
        )
    )
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="compile, run locally, list or schedule the KFP training pipeline",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="pipeline_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser(
        "compile",
        help="write the KFP IR YAML",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-o", "--output", default="pipeline.yaml", help="output YAML path")
    p.set_defaults(func=_compile)

    p = sub.add_parser(
        "run",
        help="run the pipeline on this machine (kfp.local + Beam in process)",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--local", action="store_true", help="run with kfp.local (required)")
    p.add_argument("--input", required=True, help="input CSV/JSONL path or glob")
    p.add_argument("--root", required=True, help="directory for artifacts, index and reports")
    p.add_argument("--label", default="species")
    p.add_argument("--module-file", default="", help="model module (default: the built-in model)")
    p.add_argument("--train-steps", type=_positive_int, default=600)
    p.add_argument("--train-batch-size", type=_positive_int, default=32)
    p.add_argument("--iterations-per-loop", type=_positive_int, default=100)
    p.add_argument("--replicas", type=_positive_int, default=1)
    p.add_argument("--threshold", action="append", help='e.g. "accuracy>=0.9" (repeatable)')
    p.add_argument("--beam-options", default="", help="Beam pipeline options for prepare")
    p.add_argument(
        "--warm-start",
        action="store_true",
        help="start training from the latest blessed model of this root",
    )
    p.add_argument("--every", type=_every, help="run again every interval (90s, 15m, 6h, 1d)")
    p.set_defaults(func=_run)

    p = sub.add_parser("runs", help="list the runs recorded under a root")
    p.add_argument("--root", required=True)
    p.set_defaults(func=_runs)

    p = sub.add_parser(
        "schedule",
        help="create or update a recurring run on Kubeflow",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", required=True, help="KFP API endpoint")
    p.add_argument("--experiment", required=True)
    p.add_argument("--cron", required=True, type=_cron, help='6-field cron, e.g. "0 0 */6 * * *"')
    p.add_argument("--name", default="tpuest-training-recurring", help="recurring run name")
    p.add_argument("--param", action="append", type=_param, default=[], help="name=value")
    p.add_argument("--max-concurrency", type=_positive_int, default=1)
    p.add_argument("--catchup", action="store_true", help="run missed intervals (default: no)")
    p.set_defaults(func=_schedule)
