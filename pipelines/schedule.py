"""Recurring runs on Kubeflow: create or update (by name) a cron-scheduled run of the pipeline."""

from __future__ import annotations

import logging
import tempfile

from pipelines.cron import Cron
from pipelines.kfp_server import Server, ServerError
from pipelines.resources import Hardware
from pipelines.submit import client_output_logged, compile_package
from pipelines.training_pipeline import PIPELINE_NAME

log = logging.getLogger("tpuest.pipeline")


def schedule(
    server: Server,
    experiment: str,
    cron: str,
    *,
    name: str = f"{PIPELINE_NAME}-recurring",
    parameters: dict | None = None,
    hardware: Hardware | None = None,
    max_concurrency: int = 1,
    catchup: bool = False,
    enable_caching: bool | None = None,
    client=None,
) -> str:
    """Creates the recurring run `name`, replacing any of that name; returns the new one's id.

    KFP has no update call for recurring runs. The cron and the pipeline are checked and
    compiled first; the new recurring run is created next, and only then are the old ones of
    that name deleted: a bad cron, a compile error, a rejected create or a dropped connection
    leaves the existing schedule as it was. Calling this twice leaves exactly one.

    Raises:
        ValueError: a bad cron, or parameters the pipeline does not have or the hardware
            contradicts.
        ServerError: the server cannot be reached or refuses a request (the message says
            whether the new recurring run exists and which old ones remain).
    """
    Cron.parse(cron, kfp=True)  # a bad field fails here, not on the server
    parameters = dict(parameters or {})
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_package(tmp, parameters, hardware)
        client = client or server.client()
        with server.errors(f"scheduling {name}"), client_output_logged():
            experiment_id = client.create_experiment(
                name=experiment, namespace=server.namespace or None
            ).experiment_id
            listed = client.list_recurring_runs(experiment_id=experiment_id, page_size=100)
            old = [
                r.recurring_run_id for r in listed.recurring_runs or [] if r.display_name == name
            ]
            created = client.create_recurring_run(
                experiment_id=experiment_id,
                job_name=name,
                cron_expression=cron,
                pipeline_package_path=package,
                params=parameters,
                max_concurrency=max_concurrency,
                no_catchup=not catchup,
                # None sends each task's setting as compiled (only prepare caches); True or
                # False would override every top-level task's.
                enable_caching=enable_caching,
            )
    new_id = created.recurring_run_id
    for index, old_id in enumerate(old):
        log.info("replacing recurring run %s (%s) with %s", name, old_id, new_id)
        try:
            with server.errors(f"deleting the old recurring run {old_id}"):
                client.delete_recurring_run(old_id)
        except ServerError as e:
            raise ServerError(
                f"{e}; the new recurring run {new_id} is scheduled, and so are the old "
                f"{', '.join(old[index:])} until deleted (run schedule again)"
            ) from None
    log.info("recurring run %s scheduled (%s) in experiment %s", name, cron, experiment)
    return new_id
