"""prepare -> train -> evaluate (against the latest blessed model, when there is one) -> report, export."""

import hashlib
import inspect
import os
from typing import NamedTuple

from kfp import dsl

from components.evaluator.component import evaluator
from components.exporter.component import exporter
from components.prepare.component import prepare
from components.trainer.component import trainer
from pipelines.report_component import report
from pipelines.resources import Hardware

PIPELINE_NAME = "tpuest-training"
_PACKAGES = ("estimator_core", "components")


_PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def code_version(root: str = _PROJECT_ROOT) -> str:
    """A digest of the project's source under `root` (the .py files of estimator_core and
    components): part of prepare's cache key, so new code re-prepares."""
    digest = hashlib.sha256()
    for package in _PACKAGES:
        for folder, _, files in sorted(os.walk(os.path.join(root, package))):
            for name in sorted(f for f in files if f.endswith(".py")):
                path = os.path.join(folder, name)
                with open(path, "rb") as f:
                    source = f.read()
                digest.update(f"{os.path.relpath(path, root)}\0{len(source)}\0".encode() + source)
    return digest.hexdigest()[:16]


class Outputs(NamedTuple):
    """What a run produced, as kfp.local returns it (and the Kubeflow UI lists it)."""

    model: dsl.Model
    evaluation: dsl.Artifact
    blessing: dsl.Artifact
    pushed_model: dsl.Model


def build_pipeline(hardware: Hardware | None = None, *, checkpoints_per_run: bool = False):
    """The training pipeline, its tasks asking for `hardware` (default: nothing set, the
    cluster's defaults).

    With `checkpoints_per_run`, the trainer's checkpoint_dir is the pipeline's
    `checkpoint_dir`/<run id> (KFP fills in the id): each run of a schedule resumes only its
    own attempts' checkpoints. Only for a non-empty checkpoint_dir (the path would be "/<id>").

    Raises:
        ImportError: `hardware` needs kfp-kubernetes (node selectors, tolerations, volumes)
            and it is not installed.
    """
    hardware = hardware or Hardware()

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description="Prepare data with Beam, train with the TPUEstimator engine, evaluate against "
        "thresholds and the latest blessed model, and export blessed models only.",
    )
    def training_pipeline(
        input_pattern: str,
        label: str = "species",
        split_key: str = "",
        max_bad_fraction: float = 0.05,
        input_format: str = "",
        module_file: str = "",
        train_steps: int = 600,
        train_batch_size: int = 32,
        eval_batch_size: int = 64,
        iterations_per_loop: int = 100,
        iterations_per_loop_budget: str = "",
        replicas: int = 1,
        strategy: str = "",
        params: dict = {},  # noqa: B006 (a KFP default, never mutated)
        seed: int = 0,
        save_checkpoints_steps: int = 0,
        loop_timeout_secs: float = 0.0,
        checkpoint_dir: str = "",
        thresholds: list = ["accuracy>=0.9"],  # noqa: B006
        compare_metric: str = "accuracy",
        tolerance: float = 0.0,
        slice_by: list = [],  # noqa: B006
        beam_options: str = "",
        direct_num_workers: int = 1,
        export_base: str = "",
        baseline_model_uri: str = "",
        warm_start_from: str = "",
        use_tpu: bool = False,
        tpu: str = "",
        num_shards: int = 0,
        prepare_cache_key: str = dsl.PIPELINE_JOB_ID_PLACEHOLDER,
    ) -> Outputs:
        """One task per step. `baseline_model_uri` is the latest blessed model_dir ("" for none): the
        evaluator blesses only a model at least as good. `warm_start_from` is a model_dir the
        trainer starts from ("" for none; local runs with --warm-start pass the baseline). The
        exporter runs every time and pushes only a blessed model. `use_tpu` trains on the TPU `tpu`
        ("" for $TPU_NAME) over `num_shards` cores (0: one per core). `checkpoint_dir` (gs://... or
        a mounted volume) keeps the trainer's checkpoints where a retried pod finds them ("":
        in the model artifact, lost with a pod that dies). `prepare_cache_key` defaults to the
        run id (no reuse) and is set by local runs to a fingerprint of data and code. The other
        parameters are the steps' (components/<step>/args.py)."""
        prepare_task = prepare(
            input_pattern=input_pattern,
            label=label,
            split_key=split_key,
            max_bad_fraction=max_bad_fraction,
            input_format=input_format,
            beam_options=beam_options,
            direct_num_workers=direct_num_workers,
            cache_key=prepare_cache_key,
        ).set_caching_options(True)
        examples = prepare_task.outputs["examples"]
        # Each run's checkpoints in a directory of its own, the same for every retry of it.
        trainer_checkpoint_dir = (
            f"{checkpoint_dir}/{dsl.PIPELINE_JOB_ID_PLACEHOLDER}"
            if checkpoints_per_run
            else checkpoint_dir
        )
        trainer_task = (
            trainer(
                examples=examples,
                train_steps=train_steps,
                module_file=module_file,
                train_batch_size=train_batch_size,
                iterations_per_loop=iterations_per_loop,
                iterations_per_loop_budget=iterations_per_loop_budget,
                replicas=replicas,
                strategy=strategy,
                params=params,
                seed=seed,
                save_checkpoints_steps=save_checkpoints_steps,
                loop_timeout_secs=loop_timeout_secs,
                checkpoint_dir=trainer_checkpoint_dir,
                warm_start_from=warm_start_from,
                use_tpu=use_tpu,
                tpu=tpu,
                num_shards=num_shards,
            )
            # A retried trainer resumes from the checkpoints the failed attempt left.
            .set_retry(num_retries=2, backoff_duration="10s")
            .set_caching_options(False)
        )
        model = trainer_task.outputs["model"]
        evaluation = evaluator(
            examples=examples,
            model=model,
            baseline_model_dir=baseline_model_uri,
            thresholds=thresholds,
            compare_metric=compare_metric,
            tolerance=tolerance,
            slice_by=slice_by,
            module_file=module_file,
            batch_size=eval_batch_size,
        ).set_caching_options(False)
        report_task = report(
            model=model,
            evaluation=evaluation.outputs["evaluation"],
            blessing=evaluation.outputs["blessing"],
        ).set_caching_options(False)
        pushed = exporter(
            model=model,
            blessing=evaluation.outputs["blessing"],
            export_base=export_base,
            module_file=module_file,
        ).set_caching_options(False)
        tasks = {
            "prepare": prepare_task,
            "trainer": trainer_task,
            "evaluator": evaluation,
            "report": report_task,
            "exporter": pushed,
        }
        for step, task in tasks.items():
            hardware.apply(step, task)
        return Outputs(
            model=model,
            evaluation=evaluation.outputs["evaluation"],
            blessing=evaluation.outputs["blessing"],
            pushed_model=pushed.outputs["pushed_model"],
        )

    return training_pipeline


training_pipeline = build_pipeline()


# The one definition of the pipeline's parameters and their defaults: local runs, the CLI and
# the demo read them from here.
PARAMETERS = dict(inspect.signature(training_pipeline.pipeline_func).parameters)
DEFAULTS = {
    name: parameter.default
    for name, parameter in PARAMETERS.items()
    if parameter.default is not inspect.Parameter.empty
}
