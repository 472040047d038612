"""`tpuest pipeline compile|run|runs|submit|schedule`: parse arguments, call the pipelines library."""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal

from components.cli import (
    UsageError,
    existing_dir,
    key_values,
    matching_pattern,
    nonempty,
    output_dir,
    output_file,
    positive_int,
)
from estimator_core.check_model import module_source
from pipelines.cli_options import (
    HARDWARE_HELP,
    add_hardware_flags,
    add_server_flags,
    hardware_from_args,
    server_from_args,
)
from pipelines.parameters import add_parameter_flags, check_values, merge, values_from_args

log = logging.getLogger("tpuest.pipeline")

# The pipeline parameters a local run sets itself (pipelines.local.SET_BY_RUN_LOCAL, but the
# input, which is --input), and how.
SET_BY_LOCAL_RUN = {
    "export_base": "ROOT/exports",
    "baseline_model_uri": "the root's latest blessed model",
    "warm_start_from": "that baseline with --warm-start, else none",
    "prepare_cache_key": "a digest of the input files and the code",
}

EXAMPLES = (
    """examples:
  tpuest pipeline compile -o pipeline.yaml
  tpuest pipeline compile -o pipeline.yaml --trainer-gpus 1 --trainer-gpu-type nvidia-l4
  tpuest pipeline compile -o pipeline.yaml --trainer-tpu tpu-v5-lite-podslice \\
      --trainer-tpu-topology 2x4 --use-tpu --resources trainer:cpu=8,memory=32Gi
  tpuest pipeline compile-components
  tpuest pipeline run --local --input 'data/*.csv' --root runs/
  tpuest pipeline run --local --input 'data/*.csv' --root runs/ --every 6h
  tpuest pipeline run --local --input 'data/*.csv' --root runs/ --cron '0 */6 * * *'
  tpuest pipeline runs --root runs/
  tpuest pipeline submit --host http://kfp:8888 --experiment penguins \\
      --input 'gs://bucket/data/*.csv' --train-steps 2000 --token-file ~/.kfp-token
  tpuest pipeline schedule --host http://kfp:8888 --experiment penguins --cron '0 0 */6 * * *' \\
      --param input_pattern='gs://bucket/data/*.csv'

"""
    + HARDWARE_HELP
)


def _every(text: str) -> float:
    from pipelines.recurring import parse_every

    try:
        seconds = parse_every(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if not math.isfinite(seconds):
        raise argparse.ArgumentTypeError(f"interval {text!r} must be a finite duration")
    return seconds


def _cron(text: str, *, kfp: bool = False) -> str:
    """argparse type: a cron expression of 5 fields, or 6 with seconds first."""
    from pipelines.cron import Cron

    try:
        Cron.parse(text, kfp=kfp)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _kfp_cron(text: str) -> str:
    """argparse type: a cron expression Kubeflow accepts (6 fields, seconds first, days 0-6)."""
    return _cron(text, kfp=True)


def _parameters(args) -> dict:
    """The pipeline parameters given as flags and as --param name=value, checked."""
    values = merge(values_from_args(args), key_values(args.param, "--param"))
    check_values(values)
    return values


def _compile(args) -> int:
    from pipelines.compile import compile_pipeline

    defaults = _parameters(args)
    hardware = hardware_from_args(args)
    try:
        print(compile_pipeline(args.output, hardware=hardware, defaults=defaults))
    except ValueError as e:
        raise UsageError(str(e)) from None
    return 0


def _compile_components(args) -> int:
    from pipelines.compile import compile_components

    print("\n".join(compile_components()))
    return 0


def _run(args) -> int:
    if not args.local:
        raise UsageError("only --local runs start from here; use `schedule` for Kubeflow")
    from components.prepare.cli import check_columns
    from pipelines.training_pipeline import DEFAULTS

    values = values_from_args(args)  # the parameters given; the pipeline's defaults otherwise
    check_values(values)
    chosen = {**DEFAULTS, **values}
    check_columns(
        [values["input_pattern"]], chosen["input_format"] or None, {"--label": chosen["label"]}
    )
    run_kwargs = {
        **values,
        "root": os.path.abspath(args.root),
        "warm_start": args.warm_start,
        "runner": args.runner,
        "image": args.image,
    }
    hardware = hardware_from_args(args)
    if not hardware.is_default:
        log.info(
            "hardware settings (%s) are for Kubeflow; they do not apply on this machine, where "
            "kfp.local runs every task as a local process",
            hardware.describe(),
        )
    if args.every or args.cron:
        from pipelines import recurring

        next_delay = recurring.every(args.every) if args.every else recurring.on_cron(args.cron)
        # Each run in a session of its own: Ctrl-C stops the schedule, not the run in progress.
        recurring.Schedule(next_delay).run(
            lambda: recurring.run_pipeline_in_own_session(run_kwargs)
        )
        return 0
    from pipelines.local import run_local, summary

    # A plain SIGTERM (`kill`) ends a one-off run as Ctrl-C does: recorded "interrupted", the
    # root's lock released, exit 130. (A scheduled run's SIGTERM is the schedule's business.)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        print(summary(run_local(**run_kwargs)), flush=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def _runs(args) -> int:
    from pipelines.index import format_table, load

    records = load(os.path.abspath(args.root))
    print(format_table(records) if records else f"no runs under {args.root}")
    return 0


def _submit(args) -> int:
    parameters = _parameters(args)
    server, hardware = server_from_args(args), hardware_from_args(args)
    from pipelines.submit import submit

    try:
        run_id = submit(
            server,
            args.experiment,
            parameters=parameters,
            hardware=hardware,
            run_name=args.name or "",
            enable_caching=args.enable_caching,
        )
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(run_id)
    return 0


def _schedule(args) -> int:
    parameters = _parameters(args)
    server, hardware = server_from_args(args), hardware_from_args(args)
    from pipelines.schedule import schedule

    try:
        recurring_run_id = schedule(
            server,
            args.experiment,
            args.cron,
            name=args.name,
            parameters=parameters,
            hardware=hardware,
            max_concurrency=args.max_concurrency,
            catchup=args.catchup,
            enable_caching=args.enable_caching,
        )
    except ValueError as e:
        raise UsageError(str(e)) from None
    print(recurring_run_id)
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
    p.add_argument(
        "-o", "--output", type=output_file, default="pipeline.yaml", help="output YAML path"
    )
    p.add_argument(
        "--param",
        action="append",
        default=[],
        help="name=value compiled in as the parameter's default; VALUE is JSON or a string",
    )
    add_parameter_flags(p, title="pipeline parameters (compiled in as the defaults)")
    add_hardware_flags(p)
    p.set_defaults(func=_compile)

    p = sub.add_parser(
        "compile-components",
        help="write each step's KFP component spec (components/<step>/component.yaml)",
    )
    p.set_defaults(func=_compile_components)

    p = sub.add_parser(
        "run",
        help="run the pipeline on this machine (kfp.local + Beam in process)",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--local", action="store_true", help="run with kfp.local (required)")
    p.add_argument(
        "--root",
        type=output_dir,
        required=True,
        help="directory for artifacts, index and reports",
    )
    add_parameter_flags(
        p,
        skip=SET_BY_LOCAL_RUN,
        types={"input_pattern": matching_pattern, "module_file": module_source},
        required=("input_pattern",),
    )
    p.add_argument(
        "--warm-start",
        action="store_true",
        help="start training from the latest blessed model of this root",
    )
    p.add_argument(
        "--runner",
        choices=("subprocess", "docker"),
        default="subprocess",
        help="where steps run: child processes (default) or containers of --image through "
        "the Docker API DOCKER_HOST names (Docker or `podman system service`)",
    )
    p.add_argument(
        "--image",
        type=nonempty,
        help="image for --runner docker (default: $TPUEST_IMAGE or the project's image tag)",
    )
    when = p.add_mutually_exclusive_group()
    when.add_argument(
        "--every", type=_every, help="run now, then again every interval (90s, 15m, 6h, 1d)"
    )
    when.add_argument(
        "--cron",
        type=_cron,
        help='run at the times of a cron expression in local time, e.g. "0 */6 * * *" '
        "(5 fields, or 6 with seconds first)",
    )
    add_hardware_flags(p)
    p.set_defaults(func=_run)

    p = sub.add_parser("runs", help="list the runs recorded under a root")
    p.add_argument("--root", type=existing_dir, required=True)
    p.set_defaults(func=_runs)

    p = sub.add_parser(
        "submit",
        help="start one run now on Kubeflow",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_server_flags(p)
    p.add_argument("--name", type=nonempty, help="run name (default: the pipeline and the time)")
    p.add_argument(
        "--param", action="append", default=[], help="name=value, VALUE is JSON or a string"
    )
    add_parameter_flags(p)
    add_hardware_flags(p)
    p.set_defaults(func=_submit)

    p = sub.add_parser(
        "schedule",
        help="create or update a recurring run on Kubeflow",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_server_flags(p)
    p.add_argument(
        "--cron", required=True, type=_kfp_cron, help='6-field cron, e.g. "0 0 */6 * * *"'
    )
    p.add_argument(
        "--name", type=nonempty, default="tpuest-training-recurring", help="recurring run name"
    )
    p.add_argument(
        "--param", action="append", default=[], help="name=value, VALUE is JSON or a string"
    )
    p.add_argument("--max-concurrency", type=positive_int, default=1)
    p.add_argument("--catchup", action="store_true", help="run missed intervals (default: no)")
    add_parameter_flags(p)
    add_hardware_flags(p)
    p.set_defaults(func=_schedule)
