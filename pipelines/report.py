"""A self-contained report.html for one run: loss curve, metrics vs thresholds and baseline,
confusion matrix, blessing and its reasons, and how the run compares with earlier ones."""

from __future__ import annotations

import base64
import glob
import html
import io
import os

from components import artifacts, files
from pipelines.index import RunRecord


def loss_curve(model_dir: str) -> list[tuple[int, float]]:
    """(step, loss) pairs from the training summaries in model_dir."""
    import tensorflow as tf

    points = {}
    for path in sorted(glob.glob(os.path.join(model_dir, "events.out.tfevents.*"))):
        for raw in tf.data.TFRecordDataset(path).as_numpy_iterator():
            event = tf.compat.v1.Event.FromString(raw)
            for value in event.summary.value:
                if value.tag == "loss":
                    points[event.step] = value.simple_value
    return sorted(points.items())


def _png(figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def _loss_png(points) -> str | None:
    if not points:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5, 3))
    axis.plot([s for s, _ in points], [v for _, v in points], marker=".")
    axis.set_xlabel("global step")
    axis.set_ylabel("training loss")
    axis.set_yscale("log")
    axis.grid(alpha=0.3)
    encoded = _png(figure)
    plt.close(figure)
    return encoded


def _confusion_png(confusion: dict) -> str | None:
    if not confusion or not confusion.get("matrix"):
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, matrix = confusion["labels"], confusion["matrix"]
    figure, axis = plt.subplots(figsize=(1.2 + 0.8 * len(labels), 1 + 0.7 * len(labels)))
    axis.imshow(matrix, cmap="Blues")
    axis.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    axis.set_yticks(range(len(labels)), labels)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    for i, row in enumerate(matrix):
        for j, count in enumerate(row):
            axis.text(j, i, str(count), ha="center", va="center")
    encoded = _png(figure)
    plt.close(figure)
    return encoded


def _table(rows, header) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _fmt(value) -> str:
    return f"{value:.4f}" if isinstance(value, float) else ("-" if value is None else str(value))


def render(record: RunRecord, history: list[RunRecord]) -> str:
    """The report as one HTML string (images inline, no external files)."""
    evaluation = record.evaluation_dir or ""
    metrics_file = files.read_json(os.path.join(evaluation, artifacts.METRICS_FILE), default={})
    blessing = files.read_json(os.path.join(evaluation, artifacts.BLESSING_FILE), default={})
    confusion = files.read_json(os.path.join(evaluation, artifacts.CONFUSION_FILE), default={})
    metrics = metrics_file.get("metrics", record.metrics)
    baseline = metrics_file.get("baseline_metrics") or {}
    thresholds = {
        c["metric"]: c["rule"] for c in blessing.get("checks", []) if c.get("kind") == "threshold"
    }
    metric_rows = [
        (name, _fmt(value), thresholds.get(name, ""), _fmt(baseline.get(name)))
        for name, value in sorted(metrics.items())
    ]
    check_rows = [
        ("PASS" if c.get("passed") else "FAIL", c.get("why", ""))
        for c in blessing.get("checks", [])
    ]
    history_rows = [
        (
            r.run_id,
            r.status,
            _fmt(r.metrics.get("accuracy")),
            _fmt(r.metrics.get("loss")),
            {True: "yes", False: "no", None: "-"}[r.blessed],
            r.export_path or "-",
        )
        for r in history
    ]
    loss_png = _loss_png(loss_curve(record.model_dir)) if record.model_dir else None
    confusion_png = _confusion_png(confusion)
    verdict = "BLESSED" if record.blessed else "NOT BLESSED"
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>tpuest run {html.escape(record.run_id)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
        "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em}"
        ".blessed{color:#070}.not{color:#a00}</style></head><body>",
        f"<h1>Run {html.escape(record.run_id)}</h1>",
        f"<p>Status: <b>{html.escape(record.status)}</b>. "
        f"<span class='{'blessed' if record.blessed else 'not'}'><b>{verdict}</b></span>: "
        f"{html.escape(record.blessing_reason or '')}</p>",
        f"<p>Export: {html.escape(record.export_path or 'none')}</p>",
        "<h2>Training loss</h2>",
        f"<img alt='loss curve' src='data:image/png;base64,{loss_png}'>"
        if loss_png
        else "<p>no loss summaries</p>",
        "<h2>Evaluation</h2>",
        _table(metric_rows, ("metric", "value", "threshold", "baseline")),
        "<h2>Blessing checks</h2>",
        _table(check_rows, ("result", "why")),
        "<h2>Confusion matrix</h2>",
        f"<img alt='confusion matrix' src='data:image/png;base64,{confusion_png}'>"
        if confusion_png
        else "<p>none</p>",
        "<h2>Runs so far</h2>",
        _table(history_rows, ("run", "status", "accuracy", "loss", "blessed", "export")),
        "</body></html>",
    ]
    return "\n".join(parts)


def write(path: str, record: RunRecord, history: list[RunRecord]) -> str:
    """Writes the report (temporary name, then rename) and returns its path."""
    files.write_atomic(path, render(record, history))
    return path
