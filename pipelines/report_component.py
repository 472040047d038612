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
    import os

    from pipelines.index import RunRecord, record_judgement
    from pipelines.report import write

    record = RunRecord(
        run_id=os.path.basename(os.path.dirname(os.path.dirname(html.path))) or "run",
        started="",
        parameters={},
        status="evaluated",
        model_dir=model.path,
    )
    record_judgement(record, evaluation, blessing)
    os.makedirs(os.path.dirname(html.path), exist_ok=True)
    write(html.path, record, [record])
