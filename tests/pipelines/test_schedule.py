"""`tpuest pipeline schedule` against a loopback server that plays the KFP v2beta1 API."""

from pathlib import Path

import pytest
import yaml

from pipelines.compile import compile_pipeline
from pipelines.tpuest import main
from pipelines.training_pipeline import PIPELINE_NAME
from tests.pipelines.fake_kfp import FakeKfp


@pytest.fixture
def kfp_api():
    fake = FakeKfp()
    yield fake
    fake.close()


def schedule(kfp_api, *extra, host=None):
    return main(
        [
            "pipeline",
            "schedule",
            "--host",
            host or kfp_api.host,
            "--experiment",
            "penguins",
            "--cron",
            "0 0 */6 * * *",
            "--param",
            "input_pattern=gs://bucket/*.csv",
            *extra,
        ]
    )


def test_schedule_creates_then_replaces_the_recurring_run_by_name(kfp_api, tmp_path):
    assert schedule(kfp_api) == 0
    assert schedule(kfp_api) == 0  # idempotent: still exactly one
    assert len(kfp_api.recurring) == 1
    [run] = kfp_api.recurring.values()
    assert run["display_name"] == f"{PIPELINE_NAME}-recurring"
    assert run["mode"] == "ENABLE"
    assert run["trigger"]["cron_schedule"]["cron"] == "0 0 */6 * * *"
    assert int(run["max_concurrency"]) == 1
    assert run["no_catchup"] is True
    assert run["runtime_config"]["parameters"] == {"input_pattern": "gs://bucket/*.csv"}
    compiled = yaml.safe_load(Path(compile_pipeline(str(tmp_path / "p.yaml"))).read_text())
    assert run["pipeline_spec"] == compiled  # the whole compiled pipeline, inline
    assert [c[0] for c in kfp_api.calls].count("DELETE") == 1
    assert len(kfp_api.experiments) == 1  # the experiment is reused, not created twice


def test_the_new_recurring_run_is_created_before_the_old_is_deleted(kfp_api):
    assert schedule(kfp_api) == 0
    [old_id] = kfp_api.recurring
    kfp_api.calls.clear()
    assert schedule(kfp_api) == 0
    methods = kfp_api.methods()
    assert methods.index("POST recurringruns") < methods.index(f"DELETE {old_id}")
    assert old_id not in kfp_api.recurring and len(kfp_api.recurring) == 1


@pytest.mark.parametrize("fault", ["rejected", "dropped"])
def test_a_failed_create_leaves_the_existing_schedule(kfp_api, capsys, fault):
    assert schedule(kfp_api) == 0
    before = dict(kfp_api.recurring)
    if fault == "rejected":
        kfp_api.reject["/recurringruns"] = (400, "Invalid input error: cron is not supported")
    else:
        kfp_api.drop.add("/recurringruns")
    assert schedule(kfp_api) == 1
    assert kfp_api.recurring == before  # the old recurring run is still there, untouched
    assert "DELETE" not in [c[0] for c in kfp_api.calls]
    err = capsys.readouterr().err
    assert f"the KFP API at {kfp_api.host}" in err
    if fault == "rejected":
        assert "HTTP 400" in err and "cron is not supported" in err
    else:
        assert "cannot reach" in err


def test_a_compile_error_leaves_the_existing_schedule_and_contacts_no_server(kfp_api, capsys):
    assert schedule(kfp_api) == 0
    before, calls = dict(kfp_api.recurring), len(kfp_api.calls)
    # A TPU trainer whose num_shards does not fit its slice: refused while compiling.
    tpu = ["--trainer-tpu", "tpu-v5-lite-podslice", "--trainer-tpu-topology", "2x4"]
    with pytest.raises(SystemExit) as exit_info:
        schedule(kfp_api, *tpu, "--param", "use_tpu=true", "--param", "num_shards=4")
    assert exit_info.value.code == 2
    assert "num_shards 4 does not match TPU topology 2x4 (8 chips" in capsys.readouterr().err
    assert kfp_api.recurring == before and len(kfp_api.calls) == calls


def test_catchup_and_max_concurrency_reach_the_recurring_run(kfp_api):
    assert schedule(kfp_api, "--catchup", "--max-concurrency", "3", "--name", "nightly") == 0
    [run] = kfp_api.recurring.values()
    assert run["display_name"] == "nightly" and run["mode"] == "ENABLE"
    assert run["no_catchup"] is False
    assert int(run["max_concurrency"]) == 3


def test_no_cache_turns_caching_off_for_every_task_of_the_recurring_run(kfp_api):
    assert schedule(kfp_api, "--no-cache") == 0
    [run] = kfp_api.recurring.values()
    tasks = run["pipeline_spec"]["root"]["dag"]["tasks"]
    assert {t["cachingOptions"].get("enableCache", False) for t in tasks.values()} == {False}


@pytest.mark.parametrize(
    "cron, message",
    [
        ("0 */6 * * *", "6 fields"),
        ("0 0 24 * * *", "hour field '24'"),
        ("0 0 0 30 2 *", "never"),
        ("0 0 9 * * 7", "day of week field '7' has 7, outside 0-6"),  # robfig/cron: 0-6
    ],
)
def test_bad_cron_is_a_usage_error(kfp_api, capsys, cron, message):
    with pytest.raises(SystemExit) as exit_info:
        main(["pipeline", "schedule", "--host", kfp_api.host, "--experiment", "x", "--cron", cron])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not kfp_api.calls
