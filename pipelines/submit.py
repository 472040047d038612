"""One run of the pipeline now on a Kubeflow Pipelines server."""

from __future__ import annotations

import contextlib
import datetime
import io
import logging
import os
import tempfile

from pipelines.compile import compile_pipeline
from pipelines.kfp_server import Server
from pipelines.resources import Hardware
from pipelines.training_pipeline import DEFAULTS, PARAMETERS, PIPELINE_NAME

log = logging.getLogger("tpuest.pipeline")


def check_run_parameters(parameters: dict, hardware: Hardware) -> None:
    """Checks a run's parameter values before anything is sent: each is a pipeline parameter,
    the required ones are given, and they agree with the hardware.

    Raises:
        ValueError: an unknown or missing parameter, or one the hardware contradicts.
    """
    unknown = sorted(set(parameters) - set(PARAMETERS))
    if unknown:
        raise ValueError(
            f"--param {unknown[0]}: not a pipeline parameter ({', '.join(PARAMETERS)})"
        )
    missing = sorted(set(PARAMETERS) - set(DEFAULTS) - set(parameters))
    if missing:
        raise ValueError(f"the pipeline needs {missing[0]}: pass --param {missing[0]}=...")
    hardware.check_parameters({**DEFAULTS, **parameters})


def compile_package(folder: str, parameters: dict, hardware: Hardware | None) -> str:
    """Checks the run's parameters and compiles the pipeline into `folder`; returns the path."""
    hardware = hardware or Hardware()
    check_run_parameters(parameters, hardware)
    return compile_pipeline(
        os.path.join(folder, "pipeline.yaml"), hardware=hardware, run_parameters=parameters
    )


@contextlib.contextmanager
def client_output_logged():
    """kfp.Client prints links ("Run details: ...") to stdout, where our result goes: log them."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            yield
    finally:
        for line in printed.getvalue().splitlines():
            log.info("%s", line)


def submit(
    server: Server,
    experiment: str,
    *,
    parameters: dict | None = None,
    hardware: Hardware | None = None,
    run_name: str = "",
    enable_caching: bool | None = None,
    client=None,
) -> str:
    """Starts one run of the pipeline in `experiment` (created if new); returns the run id.

    The pipeline is compiled (with `hardware`) and checked before the server is contacted.
    `enable_caching` None keeps each task's compiled setting (only prepare caches); False
    turns caching off for every task of this run.

    Raises:
        ValueError: a parameter the pipeline does not have, or that contradicts `hardware`.
        ServerError: the server cannot be reached, or refuses the run.
    """
    parameters = dict(parameters or {})
    run_name = run_name or f"{PIPELINE_NAME} {datetime.datetime.now():%Y-%m-%d %H:%M:%S}"
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_package(tmp, parameters, hardware)
        client = client or server.client()
        with server.errors(f"submitting to experiment {experiment}"), client_output_logged():
            experiment_id = client.create_experiment(
                name=experiment, namespace=server.namespace or None
            ).experiment_id
            run = client.run_pipeline(
                experiment_id=experiment_id,
                job_name=run_name,
                pipeline_package_path=package,
                params=parameters,
                enable_caching=enable_caching,
            )
    log.info("run %r started (%s) in experiment %s", run_name, run.run_id, experiment)
    return run.run_id
