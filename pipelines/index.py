"""The run index under a local root: one record per pipeline run, written atomically."""

from __future__ import annotations

import dataclasses
import os
import tempfile

from components import files

INDEX_FILE = "index.json"


@dataclasses.dataclass
class RunRecord:
    """What a local pipeline run did: when, with what, and what came out."""

    run_id: str
    started: str
    parameters: dict  # secret-looking Beam flags hidden (pipelines/redact.py)
    status: str = "running"
    runner: str = "subprocess"  # where the steps ran: "subprocess" or "docker"
    finished: str | None = None
    metrics: dict = dataclasses.field(default_factory=dict)
    blessed: bool | None = None
    blessing_reason: str | None = None
    examples_dir: str | None = None  # an earlier run's when prepare's cache was hit
    model_dir: str | None = None
    evaluation_dir: str | None = None
    export_path: str | None = None
    report: str | None = None
    log: str | None = None  # everything kfp.local and the tasks printed
    error: str | None = None
    extra: dict = dataclasses.field(default_factory=dict)  # keys a newer version wrote


def record_judgement(record: RunRecord, evaluation, blessing) -> None:
    """Fills the record's evaluation fields from the evaluator's two output artifacts (their
    metadata, set by the evaluator component; no result file is parsed again)."""
    record.evaluation_dir = evaluation.path
    record.metrics = dict(evaluation.metadata.get("metrics") or {})
    record.blessed = bool(blessing.metadata["blessed"])
    record.blessing_reason = blessing.metadata.get("reason")


_FIELDS = {f.name for f in dataclasses.fields(RunRecord)} - {"extra"}
_REQUIRED = {"run_id", "started", "parameters"}


def load(root: str) -> list[RunRecord]:
    """The root's records, oldest first. Keys this version does not know (a newer version's)
    are kept in `extra` and written back.

    Raises:
        ValueError: the file is not JSON, not a list of records, or a record lacks a
            required key (the message names the file, the record and the key).
    """
    path = os.path.join(root, INDEX_FILE)
    data = files.read_json(path, default=[])
    if not isinstance(data, list):
        raise ValueError(f"{path} is not a run index: a list of records expected")
    records = []
    for number, raw in enumerate(data, start=1):
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: record {number} is not a JSON object")
        missing = sorted(_REQUIRED - set(raw))
        if missing:
            raise ValueError(f"{path}: record {number} lacks {missing}")
        known = {k: v for k, v in raw.items() if k in _FIELDS}
        extra = {k: v for k, v in raw.items() if k not in _FIELDS}
        records.append(RunRecord(**known, extra=extra))
    return records


def mark_dead_runs(root: str) -> list[RunRecord]:
    """Closes the records of runs that ended without recording a status (a SIGKILL, a power
    cut) as "killed" and returns the index. Call it holding the root's lock: a run records its
    final status before it releases the lock, so any "running" record is then a dead run's."""
    records = load(root)
    dead = [r for r in records if r.status == "running"]
    for record in dead:
        record.status = "killed"
        record.error = "the run ended without recording a status (killed, or the machine stopped)"
    if dead:
        save(root, records)
    return records


def save(root: str, records: list[RunRecord]) -> None:
    """Writes the whole index to a private temporary file (mode 0600: parameters may name
    buckets and hosts) and renames it over the old one."""
    rows = []
    for record in records:
        row = dataclasses.asdict(record)
        rows.append({**row.pop("extra"), **row})
    fd, temp = tempfile.mkstemp(dir=root, prefix=f".{INDEX_FILE}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(files.to_json(rows))
        os.replace(temp, os.path.join(root, INDEX_FILE))
    finally:
        if os.path.exists(temp):
            os.remove(temp)


def upsert(root: str, record: RunRecord) -> None:
    records = [r for r in load(root) if r.run_id != record.run_id]
    save(root, records + [record])


def latest_blessed(records: list[RunRecord]) -> RunRecord | None:
    """The newest blessed run whose model_dir is still on disk (the next run's baseline)."""
    for record in reversed(records):
        if record.blessed and record.model_dir and os.path.isdir(record.model_dir):
            return record
    return None


def format_table(records: list[RunRecord]) -> str:
    """A plain-text table of runs for `tpuest pipeline runs`."""
    rows = [("run", "status", "accuracy", "loss", "blessed", "export")]
    for r in records:
        accuracy = r.metrics.get("accuracy")
        loss = r.metrics.get("loss")
        rows.append(
            (
                r.run_id,
                r.status,
                f"{accuracy:.4f}" if isinstance(accuracy, (int, float)) else "-",
                f"{loss:.4f}" if isinstance(loss, (int, float)) else "-",
                {True: "yes", False: "no", None: "-"}[r.blessed],
                r.export_path or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows)
