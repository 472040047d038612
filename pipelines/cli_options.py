"""Flag groups `tpuest pipeline` subcommands share: the tasks' hardware and the KFP server."""

from __future__ import annotations

import argparse

from components.cli import UsageError, existing_file, non_negative_int, nonempty

HARDWARE_HELP = """hardware (Kubeflow; STEP is prepare, trainer, evaluator, report or exporter):
  --resources trainer:cpu=8,memory=32Gi   CPU/memory requests of a step (repeatable)
  --limits trainer:cpu=16,memory=64Gi     CPU/memory limits of a step (repeatable)
  --trainer-gpus 1 --trainer-gpu-type nvidia-l4
  --trainer-tpu tpu-v5-lite-podslice --trainer-tpu-topology 2x4   (8 chips: num_shards 0 or 8)
  --node-selector trainer:pool=training   --toleration trainer:dedicated=ml:NoSchedule
  --pvc checkpoints=/mnt/checkpoints      a PersistentVolumeClaim mounted into every step
"""


def add_hardware_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "hardware", "what the pipeline's tasks ask a Kubeflow cluster for (see the epilog)"
    )
    group.add_argument("--resources", action="append", default=[], metavar="STEP:cpu=N,memory=Q")
    group.add_argument("--limits", action="append", default=[], metavar="STEP:cpu=N,memory=Q")
    group.add_argument("--trainer-gpus", type=non_negative_int, default=0, metavar="N")
    group.add_argument("--trainer-gpu-type", type=nonempty, metavar="TYPE", help="e.g. nvidia-l4")
    group.add_argument("--trainer-tpu", type=nonempty, metavar="ACCELERATOR")
    group.add_argument("--trainer-tpu-topology", type=nonempty, metavar="AxB[xC]")
    group.add_argument("--node-selector", action="append", default=[], metavar="STEP:KEY=VALUE")
    group.add_argument(
        "--toleration", action="append", default=[], metavar="STEP:KEY[=VALUE][:EFFECT]"
    )
    group.add_argument("--pvc", action="append", default=[], metavar="CLAIM=/MOUNT/PATH")


def _step_and_rest(text: str, flag: str) -> tuple[str, str]:
    from pipelines.resources import STEPS

    step, sep, rest = text.partition(":")
    if not sep or not rest:
        raise UsageError(f"{flag} {text!r} must look like STEP:...")
    if step not in STEPS:
        raise UsageError(f"{flag} {text!r}: step {step!r} is not one of {', '.join(STEPS)}")
    return step, rest


def _quantities(text: str, flag: str) -> tuple[str, dict[str, str]]:
    step, rest = _step_and_rest(text, flag)
    values = {}
    for item in rest.split(","):
        key, sep, value = item.partition("=")
        if key not in ("cpu", "memory") or not sep or not value:
            raise UsageError(f"{flag} {text!r}: {item!r} must be cpu=N or memory=Q")
        values[key] = value
    return step, values


def _checked(flag: str, text: str, make):
    """make(), its ValueError a UsageError naming the flag and the value."""
    try:
        return make()
    except ValueError as e:
        raise UsageError(f"{flag} {text}: {e}") from None


def hardware_from_args(args: argparse.Namespace):
    """The Hardware the flags ask for (Hardware() when none is given).

    Raises:
        UsageError: a malformed or invalid setting, naming its flag.
    """
    from pipelines.resources import (
        SINGLE_HOST_TOPOLOGIES,
        Hardware,
        StepResources,
        Toleration,
        TpuSlice,
    )

    per_step: dict[str, dict] = {}
    for flag, suffix, texts in (
        ("--resources", "request", args.resources),
        ("--limits", "limit", args.limits),
    ):
        for text in texts:
            step, values = _quantities(text, flag)
            for key, value in values.items():
                per_step.setdefault(step, {})[f"{key}_{suffix}"] = value
            fields = per_step[step]
            _checked(flag, text, lambda s=step, f=fields: StepResources(**f).check(s))
    for text in args.node_selector:
        step, rest = _step_and_rest(text, "--node-selector")
        key, sep, value = rest.partition("=")
        if not sep:
            raise UsageError(f"--node-selector {text!r} must look like STEP:KEY=VALUE")
        fields = per_step.setdefault(step, {})
        fields["node_selector"] = (*fields.get("node_selector", ()), (key, value))
        _checked("--node-selector", text, lambda s=step, f=fields: StepResources(**f).check(s))
    for text in args.toleration:
        step, rest = _step_and_rest(text, "--toleration")
        toleration = _checked("--toleration", text, lambda r=rest: Toleration.parse(r))
        fields = per_step.setdefault(step, {})
        fields["tolerations"] = (*fields.get("tolerations", ()), toleration)
    volumes = []
    for text in args.pvc:
        claim, sep, path = text.partition("=")
        if not sep or not claim or not path.startswith("/"):
            raise UsageError(f"--pvc {text!r} must look like CLAIM=/MOUNT/PATH")
        volumes.append((claim, path))
    if args.trainer_gpus < 0:
        raise UsageError(f"--trainer-gpus {args.trainer_gpus} must be >= 0")
    if args.trainer_gpu_type and not args.trainer_gpus:
        raise UsageError("--trainer-gpu-type needs --trainer-gpus N (N >= 1)")
    tpu = None
    if args.trainer_tpu or args.trainer_tpu_topology:
        if not (args.trainer_tpu and args.trainer_tpu_topology):
            raise UsageError("--trainer-tpu and --trainer-tpu-topology go together")
        known = args.trainer_tpu in SINGLE_HOST_TOPOLOGIES
        flag = "--trainer-tpu-topology" if known else "--trainer-tpu"
        tpu = _checked(
            flag,
            f"{args.trainer_tpu} {args.trainer_tpu_topology}",
            lambda: TpuSlice(args.trainer_tpu, args.trainer_tpu_topology),
        )
        if args.trainer_gpus:
            raise UsageError("--trainer-gpus and --trainer-tpu: the trainer gets one or the other")
    return Hardware(
        steps={step: StepResources(**fields) for step, fields in per_step.items()},
        trainer_gpus=args.trainer_gpus,
        trainer_gpu_type=args.trainer_gpu_type or "",
        trainer_tpu=tpu,
        volumes=tuple(volumes),
    )


def _host(text: str) -> str:
    from pipelines.kfp_server import check_host

    try:
        return check_host(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "Kubeflow Pipelines server",
        "the endpoint and one way to authenticate (never put credentials in --host)",
    )
    group.add_argument("--host", type=_host, required=True, help="KFP API endpoint (http[s]://...)")
    group.add_argument("--experiment", type=nonempty, required=True)
    group.add_argument("--namespace", type=nonempty, help="namespace of a multi-user deployment")
    group.add_argument("--token-file", type=existing_file, help="a file holding a bearer token")
    group.add_argument(
        "--sa-token-path",
        type=existing_file,
        help="a projected service account token file (clients running in the cluster)",
    )
    group.add_argument("--iap-client-id", type=nonempty, help="OAuth client id of an IAP")
    group.add_argument(
        "--cookies-file",
        type=existing_file,
        help="a file holding a Cookie header value (e.g. a Dex authservice_session)",
    )
    group.add_argument(
        "--ssl-ca-cert", type=existing_file, help="CA bundle for a private certificate"
    )
    group.add_argument(
        "--no-cache",
        dest="enable_caching",
        action="store_const",
        const=False,
        default=None,
        help="no task of the run reuses cached results (default: as compiled, prepare only)",
    )


def server_from_args(args: argparse.Namespace):
    from pipelines.kfp_server import Server

    try:
        return Server(
            host=args.host,
            namespace=args.namespace or "",
            token_file=args.token_file or "",
            sa_token_path=args.sa_token_path or "",
            iap_client_id=args.iap_client_id or "",
            cookies_file=args.cookies_file or "",
            ssl_ca_cert=args.ssl_ca_cert or "",
        )
    except ValueError as e:
        for field in ("token_file", "sa_token_path", "iap_client_id"):
            e = str(e).replace(field, "--" + field.replace("_", "-"))
        raise UsageError(str(e)) from None
