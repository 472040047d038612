"""The report as a KFP HTML artifact, so the Kubeflow UI shows it beside the run."""

from kfp import dsl

from components.image import image


@dsl.component(base_image=image(), install_kfp_package=False)
def report(
    model: dsl.Input[dsl.Model],
    evaluation: dsl.Input[dsl.Artifact],
    blessing: dsl.Input[dsl.Artifact],
    html: dsl.Output[dsl.HTML],
):
    """Writes report.html (loss curve, metrics vs thresholds and baseline, confusion matrix)."""
    import json
    import os

    from pipelines.index import RunRecord
    from pipelines.report import write

    with open(os.path.join(blessing.path, "blessing.json")) as f:
        verdict = json.load(f)
    with open(os.path.join(evaluation.path, "metrics.json")) as f:
        metrics = {k: v for k, v in json.load(f)["metrics"].items() if isinstance(v, (int, float))}
    record = RunRecord(
        run_id=os.path.basename(os.path.dirname(os.path.dirname(html.path))) or "run",
        started="",
        parameters={},
        status="evaluated",
        metrics=metrics,
        blessed=bool(verdict["blessed"]),
        blessing_reason=verdict.get("reason"),
        model_dir=model.path,
        evaluation_dir=evaluation.path,
    )
    os.makedirs(os.path.dirname(html.path), exist_ok=True)
    write(html.path, record, [record])
