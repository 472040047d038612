"""prepare -> train -> evaluate (against the latest blessed model, when there is one) -> export."""

import hashlib
import os

from kfp import dsl

from components.evaluator.component import evaluator
from components.exporter.component import exporter
from components.prepare.component import prepare
from components.trainer.component import trainer
from pipelines.report_component import report

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


def _evaluate_and_export(
    examples,
    model,
    baseline,
    thresholds,
    compare_metric,
    tolerance,
    export_base,
    module_file,
    eval_batch_size,
):
    optional = {"baseline_model": baseline} if baseline is not None else {}
    evaluation = evaluator(
        examples=examples,
        model=model,
        **optional,
        thresholds=thresholds,
        compare_metric=compare_metric,
        tolerance=tolerance,
        module_file=module_file,
        batch_size=eval_batch_size,
    ).set_caching_options(False)
    report(
        model=model,
        evaluation=evaluation.outputs["evaluation"],
        blessing=evaluation.outputs["blessing"],
    ).set_caching_options(False)
    # A single bool output: dsl.If on a NamedTuple field is always False under kfp.local.
    with dsl.If(evaluation.outputs["Output"] == True, name="blessed"):  # noqa: E712
        exporter(
            model=model,
            blessing=evaluation.outputs["blessing"],
            export_base=export_base,
            module_file=module_file,
        ).set_caching_options(False)


def _train(examples, settings: dict, warm_start_from=None):
    optional = {"warm_start_from": warm_start_from} if warm_start_from is not None else {}
    # A retried trainer resumes from the checkpoints the failed attempt left.
    return (
        trainer(examples=examples, **settings, **optional)
        .set_retry(num_retries=2, backoff_duration="10s")
        .set_caching_options(False)
        .outputs["model"]
    )


@dsl.pipeline(
    name=PIPELINE_NAME,
    description="Prepare data with Beam, train with the TPUEstimator engine, evaluate against "
    "thresholds and the latest blessed model, and export blessed models only.",
)
def training_pipeline(
    input_pattern: str,
    label: str = "species",
    module_file: str = "",
    train_steps: int = 600,
    train_batch_size: int = 32,
    eval_batch_size: int = 64,
    iterations_per_loop: int = 100,
    replicas: int = 1,
    seed: int = 0,
    thresholds: list = ["accuracy>=0.9"],  # noqa: B006 (a KFP default, never mutated)
    compare_metric: str = "accuracy",
    tolerance: float = 0.0,
    beam_options: str = "",
    direct_num_workers: int = 1,
    export_base: str = "",
    baseline_model_uri: str = "",
    warm_start: bool = False,
    use_tpu: bool = False,
    tpu: str = "",
    num_shards: int = 0,
    prepare_cache_key: str = dsl.PIPELINE_JOB_ID_PLACEHOLDER,
):
    """`baseline_model_uri` is the latest blessed model_dir ("" for none); with `warm_start`, the
    trainer starts from it. `use_tpu` trains on the TPU `tpu` ("" for $TPU_NAME) over
    `num_shards` cores (0: one per core). `prepare_cache_key` defaults to the run id (no reuse)
    and is set by local runs to a fingerprint of data and code."""
    examples = (
        prepare(
            input_pattern=input_pattern,
            label=label,
            beam_options=beam_options,
            direct_num_workers=direct_num_workers,
            cache_key=prepare_cache_key,
        )
        .set_caching_options(True)
        .outputs["examples"]
    )
    training = {
        "train_steps": train_steps,
        "module_file": module_file,
        "train_batch_size": train_batch_size,
        "iterations_per_loop": iterations_per_loop,
        "replicas": replicas,
        "seed": seed,
        "use_tpu": use_tpu,
        "tpu": tpu,
        "num_shards": num_shards,
    }
    judging = (thresholds, compare_metric, tolerance, export_base, module_file, eval_batch_size)
    with dsl.If(baseline_model_uri == "", name="first-model"):
        _evaluate_and_export(examples, _train(examples, training), None, *judging)
    with dsl.Else(name="against-baseline"):
        baseline = (
            dsl.importer(artifact_uri=baseline_model_uri, artifact_class=dsl.Model, reimport=False)
            .set_caching_options(False)
            .output
        )
        with dsl.If(warm_start == True, name="warm-start"):  # noqa: E712
            _evaluate_and_export(
                examples, _train(examples, training, warm_start_from=baseline), baseline, *judging
            )
        with dsl.Else(name="cold-start"):
            _evaluate_and_export(examples, _train(examples, training), baseline, *judging)
