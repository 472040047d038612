"""The evaluator as a KFP lightweight component: unpack artifacts, call evaluator.run.

Its parameters are EvaluatorArgs fields (tests/components/test_step_args.py checks them).
Its return value is the single bool `blessed` (a pipeline gates on it with
`dsl.If(task.output == True)`); kfp.local evaluates dsl.If on a NamedTuple field as False,
so everything else goes into output artifacts.
"""

from kfp import dsl

from components.image import image


@dsl.component(base_image=image(), install_kfp_package=False)
def evaluator(
    examples: dsl.Input[dsl.Dataset],
    model: dsl.Input[dsl.Model],
    evaluation: dsl.Output[dsl.Artifact],
    metrics: dsl.Output[dsl.Metrics],
    classification_metrics: dsl.Output[dsl.ClassificationMetrics],
    blessing: dsl.Output[dsl.Artifact],
    baseline_model_dir: str = "",
    thresholds: list = [],  # noqa: B006 (a KFP default, never mutated)
    compare_metric: str = "accuracy",
    tolerance: float = 0.0,
    slice_by: list = [],  # noqa: B006
    module_file: str = "",
    batch_size: int = 64,
    split: str = "eval",
) -> bool:
    """Evaluates the model on the `split` split; returns whether it is blessed.

    `baseline_model_dir` is the model_dir (a path or URI) of the model to beat, "" for none.
    The model's checkpoints are read where its trainer.json says (its checkpoint_dir).

    `evaluation` holds every result file (metrics.json, confusion_matrix.json,
    slice_metrics.json, blessing.json, the marker, tensorboard/); `blessing` holds only
    blessing.json (which names the model and a digest of the weights judged) and the
    BLESSED / NOT_BLESSED marker, for the exporter.
    """
    parameters = dict(locals())  # first: the component's parameters, by name
    # Lightweight components run as copied source: every import lives in the body.
    import json
    import os

    from components import blessing as blessing_lib
    from components import evaluator as evaluator_lib
    from components import step_args

    args = step_args.from_kfp(evaluator_lib.EvaluatorArgs, parameters)
    result = evaluator_lib.run(examples.path, model.path, evaluation.path, args)
    blessing_lib.copy(evaluation.path, blessing.path)
    blessing.metadata.update({"blessed": result.blessed, "reason": result.reason})
    evaluation.metadata.update(
        {
            "blessed": result.blessed,
            "global_step": result.global_step,
            "model": model.uri,
            "metrics": dict(result.metrics),
        }
    )

    for name, value in sorted(result.metrics.items()):
        metrics.log_metric(name, value)
    metrics.log_metric("example_count", result.example_count)
    confusion = result.confusion
    if confusion is not None:
        classification_metrics.log_confusion_matrix(confusion["labels"], confusion["matrix"])
        roc = confusion.get("roc_curve")
        if roc is not None:
            classification_metrics.log_roc_curve(roc["fpr"], roc["tpr"], roc["thresholds"])
    # Metrics artifacts write no file under kfp.local, whose cache then sees a miss: write one.
    for artifact, content in (
        (metrics, {**result.metrics, "example_count": result.example_count}),
        (classification_metrics, confusion or {}),
    ):
        os.makedirs(os.path.dirname(artifact.path), exist_ok=True)
        with open(artifact.path, "w") as f:
            json.dump(content, f, indent=2)
    return result.blessed
