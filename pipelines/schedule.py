"""Recurring runs on Kubeflow: create or update (by name) a cron-scheduled run of the pipeline."""

from __future__ import annotations

import logging
import os
import tempfile

from pipelines.compile import compile_pipeline
from pipelines.cron import Cron
from pipelines.training_pipeline import PIPELINE_NAME

log = logging.getLogger("tpuest.pipeline")


def schedule(
    host: str,
    experiment: str,
    cron: str,
    *,
    name: str = f"{PIPELINE_NAME}-recurring",
    parameters: dict | None = None,
    max_concurrency: int = 1,
    catchup: bool = False,
    client=None,
) -> str:
    """Creates the recurring run `name`, replacing an existing one of that name; returns its id.

    KFP has no update call for recurring runs, so "update" is delete-then-create: calling this
    twice with the same name leaves exactly one recurring run.
    """
    import kfp

    Cron.parse(cron, kfp=True)  # a bad field fails here, not on the server
    client = client or kfp.Client(host=host)
    experiment_id = client.create_experiment(name=experiment).experiment_id
    existing = client.list_recurring_runs(experiment_id=experiment_id, page_size=100)
    for run in existing.recurring_runs or []:
        if run.display_name == name:
            log.info("replacing recurring run %s (%s)", name, run.recurring_run_id)
            client.delete_recurring_run(run.recurring_run_id)
    with tempfile.TemporaryDirectory() as tmp:
        package = compile_pipeline(os.path.join(tmp, "pipeline.yaml"))
        created = client.create_recurring_run(
            experiment_id=experiment_id,
            job_name=name,
            cron_expression=cron,
            pipeline_package_path=package,
            params=parameters or {},
            max_concurrency=max_concurrency,
            no_catchup=not catchup,
            # None sends each task's setting as compiled (only prepare caches); True or False
            # would override every top-level task's.
            enable_caching=None,
        )
    log.info("recurring run %s scheduled (%s) in experiment %s", name, cron, experiment)
    return created.recurring_run_id
