"""Running the pipeline on this machine: kfp.local subprocess tasks, Beam in process, a run index."""

from __future__ import annotations

import datetime
import glob
import hashlib
import logging
import os
import shutil

from estimator_core.model_dir_lock import ModelDirLock
from pipelines import index as index_lib
from pipelines import kfp_local_fixes, redact, task_log
from pipelines import report as report_lib

log = logging.getLogger("tpuest.pipeline")


class StepFailedError(RuntimeError):
    """A pipeline step failed; the message names the step and the error it ended with."""


def check_module_file(module_file: str) -> None:
    """Compiles the model module before any step runs: a SyntaxError names the file and line
    now, instead of failing the trainer three times (with back-off) later.

    Raises:
        FileNotFoundError: neither a file nor an importable module.
        SyntaxError: the module does not compile.
    """
    if not module_file:
        return
    from estimator_core.check_model import module_path

    path = module_path(module_file)
    if os.path.isdir(path):
        return
    with open(path, "rb") as f:
        compile(f.read(), path, "exec", dont_inherit=True)


def input_files(input_pattern: str) -> list[str]:
    """The files a run reads: `input_pattern` is one or more comma-separated paths or globs."""
    patterns = [p.strip() for p in input_pattern.split(",") if p.strip()]
    return sorted({path for pattern in patterns for path in glob.glob(pattern)})


def input_fingerprint(input_pattern: str) -> str:
    """A digest of the files a run reads (names, sizes, mtimes): new or changed data, new key."""
    digest = hashlib.sha256()
    for path in input_files(input_pattern):
        stat = os.stat(path)
        digest.update(f"{os.path.abspath(path)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


# Parameters a local run sets itself: the input, where exports go, the baseline (the root's
# latest blessed model), what to warm start from (the baseline, with warm_start) and the key
# prepare's cache is looked up by.
SET_BY_RUN_LOCAL = (
    "input_pattern",
    "export_base",
    "baseline_model_uri",
    "warm_start_from",
    "prepare_cache_key",
)


def pipeline_parameters(input_pattern: str, overrides: dict) -> dict:
    """The pipeline's defaults with `overrides` on top (without what run_local sets itself).

    Raises:
        TypeError: an override that is not a pipeline parameter, or one run_local sets.
    """
    from pipelines.training_pipeline import DEFAULTS

    refused = sorted(set(overrides) & set(SET_BY_RUN_LOCAL))
    unknown = sorted(set(overrides) - set(DEFAULTS))
    if refused or unknown:
        allowed = sorted(set(DEFAULTS) - set(SET_BY_RUN_LOCAL))
        raise TypeError(
            f"run_local got {refused + unknown}: not parameters a local run takes {allowed}"
        )
    parameters = {k: v for k, v in DEFAULTS.items() if k not in SET_BY_RUN_LOCAL}
    parameters.update(overrides)
    parameters["thresholds"] = list(parameters["thresholds"])
    return {"input_pattern": input_pattern, **parameters}


RUNNERS = ("subprocess", "docker")


def run_local(
    input_pattern: str,
    root: str,
    *,
    warm_start: bool = False,
    runner: str = "subprocess",
    image: str | None = None,
    **parameters,
) -> index_lib.RunRecord:
    """Runs the training pipeline once under `root` and records it in the root's index.

    The latest blessed model from earlier runs under the same root is the baseline, so a worse
    model is never exported (and, with `warm_start`, the trainer starts from it). One run at a
    time per root (a lock). `parameters` are the pipeline's (training_pipeline.DEFAULTS, for
    example train_steps=300), except those in SET_BY_RUN_LOCAL. Prepare's output is reused
    (kfp.local's cache under `root/pipeline_root/.kfp_cache`) while the input files and the
    project's code are unchanged. Results come from the pipeline's declared outputs.

    `runner` "subprocess" runs each step as a child process of this one; "docker" runs each in
    `image` (default: components.image.image()) through the Docker API DOCKER_HOST names
    (pipelines/docker_runner.py). A step that fails fails the run with the step's own error.

    Raises:
        TypeError: a parameter the pipeline does not have, or one a local run sets itself.
        FileNotFoundError: `input_pattern` matches no file.
        ModelDirLockedError: another process is running a pipeline on `root`.
        KeyboardInterrupt: the run was interrupted (recorded as "interrupted" in the index).
        StepFailedError: a step failed (its error is the message).
        ValueError: an unknown runner, or an image without runner "docker".
        SyntaxError: the module file does not compile.
        DockerUnavailableError: runner "docker" without a Docker API or without the image.
    """
    from kfp import local

    from pipelines.training_pipeline import code_version, training_pipeline

    if runner not in RUNNERS:
        raise ValueError(f"runner {runner!r} must be one of {list(RUNNERS)}")
    if image and runner != "docker":
        raise ValueError(f"image {image!r} is used only by the docker runner (--runner docker)")
    chosen = pipeline_parameters(input_pattern, parameters)
    root = os.path.abspath(root)
    if not input_files(input_pattern):
        raise FileNotFoundError(f"input {input_pattern!r} matches no file")
    check_module_file(chosen.get("module_file") or "")
    if runner == "docker":
        from components.image import image as default_image
        from pipelines import docker_runner

        image = image or default_image()
        docker_runner.check_image(image)
        chosen["input_pattern"] = ",".join(  # the steps' working directory is not ours
            os.path.abspath(p.strip()) for p in input_pattern.split(",") if p.strip()
        )
        if chosen.get("module_file") and os.path.exists(chosen["module_file"]):
            chosen["module_file"] = os.path.abspath(chosen["module_file"])
    os.makedirs(root, exist_ok=True)
    with ModelDirLock(root, activity="used by a pipeline run"):
        records = index_lib.mark_dead_runs(root)
        baseline = index_lib.latest_blessed(records)
        run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        export_base = os.path.join(root, "exports")
        pipeline_root = os.path.join(root, "pipeline_root")
        parameters = {
            **chosen,
            "export_base": export_base,
            "baseline_model_uri": baseline.model_dir if baseline else "",
            "warm_start_from": baseline.model_dir if baseline and warm_start else "",
        }
        tmp = os.path.join(root, "tmp", run_id)  # kfp.local leaves a temp dir per task
        previous_tmp = os.environ.get("TMPDIR")
        secrets = redact.secret_values(parameters.get("beam_options") or "")
        record = index_lib.RunRecord(
            run_id=run_id,
            started=_now(),
            parameters={  # what is saved; the steps get the real values
                **parameters,
                "beam_options": redact.hide(parameters.get("beam_options") or "", secrets),
            },
            runner=runner,
        )
        record.log = os.path.join(root, "logs", f"{run_id}.log")
        os.makedirs(os.path.dirname(record.log), exist_ok=True)
        index_lib.upsert(root, record)
        try:  # from here on, the record ends with a final status whatever happens
            if baseline:
                log.info("baseline: run %s (%s)", baseline.run_id, baseline.model_dir)
            os.makedirs(tmp, exist_ok=True)
            os.environ["TMPDIR"] = tmp
            kfp_runner, docker_run = local.SubprocessRunner(use_venv=False), None
            if runner == "docker":
                os.makedirs(export_base, exist_ok=True)
                os.makedirs(pipeline_root, exist_ok=True)
                kfp_runner = docker_runner.runner(
                    read_only=docker_runner.mount_dirs(
                        docker_runner.step_paths(chosen["input_pattern"], chosen["module_file"])
                    ),
                    writable=[export_base],
                )
                docker_run = docker_runner.container_run(image)
            local.init(
                runner=kfp_runner,
                pipeline_root=pipeline_root,
                workspace_root=os.path.join(tmp, "workspace"),  # else a mkdtemp in the old TMPDIR
                enable_caching=True,  # only prepare enables it (see training_pipeline)
            )
            log.info("run %s: task output goes to %s", run_id, record.log)
            with (
                task_log.captured(record.log, secrets=secrets) as output,
                kfp_local_fixes.applied(docker_run=docker_run),
            ):
                try:
                    run = training_pipeline(
                        **parameters,
                        prepare_cache_key=f"{input_fingerprint(input_pattern)}-{code_version()}",
                    )
                except Exception as e:
                    if failure := output.failure():  # the step's own error, not kfp's summary
                        raise StepFailedError(failure) from e
                    raise
            _fill(record, run.outputs)
            record.status = "succeeded"
        except KeyboardInterrupt:  # recorded in the index, then re-raised
            record.status, record.error = "interrupted", "interrupted by a signal"
            raise
        except BaseException as e:
            record.status = "failed"
            record.error = str(e) if isinstance(e, StepFailedError) else f"{type(e).__name__}: {e}"
            record.error = redact.hide(task_log.plain(record.error), secrets)
            if os.path.exists(record.log):
                log.error(
                    "run %s failed; the end of %s:\n%s",
                    run_id,
                    record.log,
                    task_log.tail(record.log),
                )
            raise
        finally:
            record.finished = _now()
            if previous_tmp is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = previous_tmp
            shutil.rmtree(tmp, ignore_errors=True)
            index_lib.upsert(root, record)  # the final status first: the report may fail
            if record.evaluation_dir:
                history = index_lib.load(root)
                run_report = os.path.join(root, "reports", f"{run_id}.html")
                os.makedirs(os.path.dirname(run_report), exist_ok=True)
                record.report = report_lib.write(run_report, record, history)
                index_lib.upsert(root, record)
    return record


def _fill(record: index_lib.RunRecord, outputs: dict) -> None:
    """The record's results from the pipeline's declared outputs (training_pipeline.Outputs)."""
    model = outputs["model"]
    record.model_dir = model.path
    # The prepared examples the model trained on: this run's prepare, or an earlier run's when
    # prepare's cache was hit.
    record.examples_dir = model.metadata.get("examples")
    index_lib.record_judgement(record, outputs["evaluation"], outputs["blessing"])
    pushed = outputs["pushed_model"].metadata
    record.export_path = pushed.get("export_path") if pushed.get("pushed") else None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def summary(record: index_lib.RunRecord) -> str:
    """What a user wants to see after a run."""
    lines = [f"run {record.run_id}: {record.status}"]
    if record.metrics:
        shown = ", ".join(f"{k}={v:.4f}" for k, v in sorted(record.metrics.items()) if "/" not in k)
        lines.append(f"  metrics: {shown}")
    verdict = {True: "BLESSED", False: "NOT BLESSED", None: "not evaluated"}[record.blessed]
    lines.append(f"  {verdict}: {record.blessing_reason or '-'}")
    lines.append(f"  export: {record.export_path or 'none (not pushed)'}")
    if record.report:
        lines.append(f"  report: {record.report}")
    if record.log:
        lines.append(f"  log: {record.log}")
    return "\n".join(lines)
