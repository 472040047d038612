"""The run index and the HTML report, on small fake runs."""

import json
import os
from pathlib import Path

import tensorflow as tf

from pipelines import index, report
from pipelines.recurring import parse_every
from pipelines.tpuest import main


def fake_run(tmp_path, run_id, blessed, accuracy):
    model_dir = tmp_path / run_id / "model"
    evaluation = tmp_path / run_id / "evaluation"
    model_dir.mkdir(parents=True)
    evaluation.mkdir(parents=True)
    with tf.Graph().as_default(), tf.compat.v1.summary.FileWriter(str(model_dir)) as writer:
        for step, loss in ((100, 0.9), (200, 0.5), (300, 0.2)):
            value = tf.compat.v1.Summary.Value(tag="loss", simple_value=loss)
            writer.add_summary(tf.compat.v1.Summary(value=[value]), step)
    (evaluation / "metrics.json").write_text(
        json.dumps(
            {"metrics": {"accuracy": accuracy, "loss": 0.2}, "baseline_metrics": {"accuracy": 0.95}}
        )
    )
    (evaluation / "blessing.json").write_text(
        json.dumps(
            {
                "blessed": blessed,
                "reason": "why",
                "checks": [
                    {
                        "kind": "threshold",
                        "metric": "accuracy",
                        "rule": "accuracy>=0.9",
                        "passed": blessed,
                        "why": f"accuracy = {accuracy}",
                    }
                ],
            }
        )
    )
    (evaluation / "confusion_matrix.json").write_text(
        json.dumps({"labels": ["a", "b"], "matrix": [[3, 1], [0, 4]]})
    )
    return index.RunRecord(
        run_id=run_id,
        started="t",
        parameters={},
        status="succeeded",
        metrics={"accuracy": accuracy, "loss": 0.2},
        blessed=blessed,
        blessing_reason="why",
        model_dir=str(model_dir),
        evaluation_dir=str(evaluation),
    )


def test_index_upserts_atomically_and_finds_the_latest_blessed(tmp_path):
    first = fake_run(tmp_path, "r1", True, 0.97)
    second = fake_run(tmp_path, "r2", False, 0.5)
    index.upsert(str(tmp_path), first)
    index.upsert(str(tmp_path), second)
    second.status = "failed"
    index.upsert(str(tmp_path), second)
    records = index.load(str(tmp_path))
    assert [r.run_id for r in records] == ["r1", "r2"] and records[1].status == "failed"
    assert index.latest_blessed(records).run_id == "r1"
    os.rename(first.model_dir, first.model_dir + ".gone")  # a baseline must still exist
    assert index.latest_blessed(index.load(str(tmp_path))) is None
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".index-")]
    table = index.format_table(records)
    assert "r1" in table and "0.9700" in table and "failed" in table


def test_report_is_self_contained_with_curve_metrics_matrix_and_history(tmp_path):
    first = fake_run(tmp_path, "r1", True, 0.97)
    second = fake_run(tmp_path, "r2", False, 0.5)
    curve = report.loss_curve(first.model_dir)
    assert [s for s, _ in curve] == [100, 200, 300]
    assert [round(v, 4) for _, v in curve] == [0.9, 0.5, 0.2]
    path = report.write(str(tmp_path / "report.html"), second, [first, second])
    page = Path(path).read_text()
    assert page.count("data:image/png;base64,") == 2  # loss curve and confusion matrix
    assert "NOT BLESSED" in page and "accuracy&gt;=0.9" in page and "0.9500" in page  # baseline
    assert "r1" in page and "r2" in page
    assert "src='http" not in page and "<link" not in page  # nothing external


def test_every_intervals():
    assert parse_every("90s") == 90 and parse_every("6h") == 6 * 3600 and parse_every("1d") == 86400
    for bad in ("6", "h", "-1m", "0s", "5x"):
        try:
            parse_every(bad)
        except ValueError as e:
            assert "interval" in str(e)
        else:
            raise AssertionError(bad)


def test_cli_runs_lists_the_runs_of_a_root(tmp_path, capsys):
    blessed = fake_run(tmp_path, "20240101-000000-000001", True, 0.97)
    blessed.export_path = str(tmp_path / "exports" / "1")
    index.upsert(str(tmp_path), blessed)
    index.upsert(str(tmp_path), fake_run(tmp_path, "20240102-000000-000002", False, 0.5))
    assert main(["pipeline", "runs", "--root", str(tmp_path)]) == 0
    header, first, second = capsys.readouterr().out.splitlines()
    assert header.split() == ["run", "status", "accuracy", "loss", "blessed", "export"]
    assert first.split() == [
        "20240101-000000-000001",
        "succeeded",
        "0.9700",
        "0.2000",
        "yes",
        blessed.export_path,
    ]
    assert second.split()[:5] == ["20240102-000000-000002", "succeeded", "0.5000", "0.2000", "no"]


def test_cli_runs_on_a_root_without_runs_says_so(tmp_path, capsys):
    assert main(["pipeline", "runs", "--root", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == f"no runs under {tmp_path}"


def test_every_is_bounded_to_one_minute_and_366_days():
    assert parse_every("1m") == 60 and parse_every("366d") == 366 * 86400
    for bad in ("1s", "59s", "99999999999d", "367d"):
        try:
            parse_every(bad)
        except ValueError as e:
            assert "between 1m and 366d" in str(e)
        else:
            raise AssertionError(bad)


def test_a_record_with_a_key_this_version_does_not_know_loads_and_keeps_it(tmp_path):
    record = {"run_id": "r1", "started": "t", "parameters": {}, "status": "succeeded"}
    (tmp_path / "index.json").write_text(json.dumps([{**record, "from_a_newer_version": [1, 2]}]))
    [loaded] = index.load(str(tmp_path))
    assert loaded.status == "succeeded" and loaded.extra == {"from_a_newer_version": [1, 2]}
    index.save(str(tmp_path), [loaded])
    [saved] = json.loads((tmp_path / "index.json").read_text())
    assert saved["from_a_newer_version"] == [1, 2] and "extra" not in saved


def test_a_record_without_a_required_key_is_named(tmp_path):
    (tmp_path / "index.json").write_text(json.dumps([{"run_id": "r1", "started": "t"}]))
    try:
        index.load(str(tmp_path))
    except ValueError as e:
        assert "record 1 lacks ['parameters']" in str(e) and "index.json" in str(e)
    else:
        raise AssertionError("loaded")


def test_redact_finds_secret_flag_values_only():
    from pipelines import redact

    flags = "--aws_session_token tok1 --password=pw --key_column=id --s3_access_key_id=AKIA x"
    assert redact.secret_values(flags) == ["tok1", "pw", "AKIA"]
    assert redact.hide("a tok1 pw", ["tok1", "pw"]) == "a *** ***"
