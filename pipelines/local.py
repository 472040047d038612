"""Running the pipeline on this machine: kfp.local subprocess tasks, Beam in process, a run index."""

from __future__ import annotations

import datetime
import glob
import hashlib
import json
import logging
import os
import shutil

from estimator_core.model_dir_lock import ModelDirLock
from pipelines import index as index_lib
from pipelines import report as report_lib
from pipelines import task_log

log = logging.getLogger("tpuest.pipeline")


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


def _newest_run_dir(pipeline_root: str, before: set) -> str:
    created = [d for d in glob.glob(os.path.join(pipeline_root, "*")) if d not in before]
    if not created:
        raise RuntimeError(f"kfp.local wrote no run directory under {pipeline_root}")
    return max(created, key=os.path.getmtime)


def _outputs(run_dir: str, export_base: str) -> dict:
    """Where this run's model, evaluation and export ended up (evaluator-2 = against a baseline)."""
    # One branch of the DAG ran: first model, or against the baseline (cold or warm start).
    trainers = sorted(glob.glob(os.path.join(run_dir, "trainer*", "model")))
    if not trainers:
        raise RuntimeError(f"no trainer output under {run_dir}")
    found = {"model_dir": trainers[-1]}
    # The prepared examples the model trained on: this run's prepare, or an earlier run's when
    # prepare's cache was hit.
    trainer_output = os.path.join(os.path.dirname(trainers[-1]), "executor_output.json")
    if os.path.exists(trainer_output):
        with open(trainer_output) as f:
            [model] = json.load(f)["artifacts"]["model"]["artifacts"]
        found["examples_dir"] = model["metadata"].get("examples")
    for evaluator in sorted(glob.glob(os.path.join(run_dir, "evaluator*"))):
        found["evaluation_dir"] = os.path.join(evaluator, "evaluation")
        found["blessing_dir"] = os.path.join(evaluator, "blessing")
    push = os.path.join(export_base, "push.json")
    if os.path.exists(push):
        with open(push) as f:
            record = json.load(f)
        # push.json at the base is the latest decision; only this run's model counts.
        if record.get("pushed") and str(record.get("checkpoint", "")).startswith(
            found["model_dir"]
        ):
            found["export_path"] = record["export_path"]
    return found


def run_local(
    input_pattern: str,
    root: str,
    *,
    label: str = "species",
    module_file: str = "",
    train_steps: int = 600,
    train_batch_size: int = 32,
    eval_batch_size: int = 64,
    iterations_per_loop: int = 100,
    replicas: int = 1,
    seed: int = 0,
    thresholds=("accuracy>=0.9",),
    compare_metric: str = "accuracy",
    tolerance: float = 0.0,
    beam_options: str = "",
    direct_num_workers: int = 1,
    warm_start: bool = False,
    use_tpu: bool = False,
    tpu: str = "",
    num_shards: int = 0,
) -> index_lib.RunRecord:
    """Runs the training pipeline once under `root` and records it in the root's index.

    The latest blessed model from earlier runs under the same root is the baseline, so a worse
    model is never exported (and, with `warm_start`, the trainer starts from it). One run at a
    time per root (a lock). Prepare's output is reused (kfp.local's cache under
    `root/pipeline_root/.kfp_cache`) while the input files and the project's code are unchanged.

    Raises:
        FileNotFoundError: `input_pattern` matches no file.
        ModelDirLockedError: another process is running a pipeline on `root`.
        KeyboardInterrupt: the run was interrupted (recorded as "interrupted" in the index).
    """
    from kfp import local

    from pipelines.training_pipeline import code_version, training_pipeline

    root = os.path.abspath(root)
    os.makedirs(root, exist_ok=True)
    if not input_files(input_pattern):
        raise FileNotFoundError(f"input {input_pattern!r} matches no file")
    with ModelDirLock(root, activity="used by a pipeline run"):
        records = index_lib.load(root)
        baseline = index_lib.latest_blessed(records)
        run_id = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
        export_base = os.path.join(root, "exports")
        pipeline_root = os.path.join(root, "pipeline_root")
        parameters = {
            "input_pattern": input_pattern,
            "label": label,
            "module_file": module_file,
            "train_steps": train_steps,
            "train_batch_size": train_batch_size,
            "eval_batch_size": eval_batch_size,
            "iterations_per_loop": iterations_per_loop,
            "replicas": replicas,
            "seed": seed,
            "thresholds": list(thresholds),
            "compare_metric": compare_metric,
            "tolerance": tolerance,
            "beam_options": beam_options,
            "direct_num_workers": direct_num_workers,
            "export_base": export_base,
            "baseline_model_uri": baseline.model_dir if baseline else "",
            "warm_start": warm_start,
            "use_tpu": use_tpu,
            "tpu": tpu,
            "num_shards": num_shards,
        }
        tmp = os.path.join(root, "tmp", run_id)  # kfp.local leaves a temp dir per task
        previous_tmp = os.environ.get("TMPDIR")
        before = set(glob.glob(os.path.join(pipeline_root, "*")))
        record = index_lib.RunRecord(run_id=run_id, started=_now(), parameters=parameters)
        record.log = os.path.join(root, "logs", f"{run_id}.log")
        os.makedirs(os.path.dirname(record.log), exist_ok=True)
        index_lib.upsert(root, record)
        try:  # from here on, the record ends with a final status whatever happens
            if baseline:
                log.info("baseline: run %s (%s)", baseline.run_id, baseline.model_dir)
            os.makedirs(tmp, exist_ok=True)
            os.environ["TMPDIR"] = tmp
            local.init(
                runner=local.SubprocessRunner(use_venv=False),
                pipeline_root=pipeline_root,
                workspace_root=os.path.join(tmp, "workspace"),  # else a mkdtemp in the old TMPDIR
                enable_caching=True,  # only prepare enables it (see training_pipeline)
            )
            log.info("run %s: task output goes to %s", run_id, record.log)
            with task_log.captured(record.log):
                training_pipeline(
                    **parameters,
                    prepare_cache_key=f"{input_fingerprint(input_pattern)}-{code_version()}",
                )
            outputs = _outputs(_newest_run_dir(pipeline_root, before), export_base)
            _fill(record, outputs)
            record.status = "succeeded"
        except KeyboardInterrupt:  # recorded in the index, then re-raised
            record.status, record.error = "interrupted", "interrupted by a signal"
            raise
        except BaseException as e:
            record.status, record.error = "failed", f"{type(e).__name__}: {e}"
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
    record.model_dir = outputs["model_dir"]
    record.examples_dir = outputs.get("examples_dir")
    record.evaluation_dir = outputs.get("evaluation_dir")
    record.export_path = outputs.get("export_path")
    blessing_file = os.path.join(outputs.get("blessing_dir", ""), "blessing.json")
    if os.path.exists(blessing_file):
        with open(blessing_file) as f:
            blessing = json.load(f)
        record.blessed, record.blessing_reason = bool(blessing["blessed"]), blessing.get("reason")
    metrics_file = os.path.join(record.evaluation_dir or "", "metrics.json")
    if os.path.exists(metrics_file):
        with open(metrics_file) as f:
            record.metrics = {
                k: v for k, v in json.load(f)["metrics"].items() if isinstance(v, (int, float))
            }


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
