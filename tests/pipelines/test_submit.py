"""`tpuest pipeline submit` (one run now) and the KFP server options `submit` and `schedule` share,
against a loopback server that plays the KFP v2beta1 API."""

import socket
from pathlib import Path

import pytest
import yaml

from pipelines.compile import compile_pipeline
from pipelines.tpuest import main
from tests.pipelines.fake_kfp import FakeKfp

TPU = ["--trainer-tpu", "tpu-v5-lite-podslice", "--trainer-tpu-topology", "2x4"]


@pytest.fixture
def kfp_api():
    fake = FakeKfp()
    yield fake
    fake.close()


def submit(host, *extra):
    return main(["pipeline", "submit", "--host", host, "--experiment", "penguins", *extra])


def usage_error(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_submit_starts_one_run_with_the_compiled_pipeline_and_parameters(kfp_api, tmp_path, capsys):
    params = ["--param", "input_pattern=gs://bucket/*.csv", "--param", "train_steps=50"]
    assert submit(kfp_api.host, *params, "--name", "nightly-1") == 0
    [(run_id, run)] = kfp_api.runs.items()
    assert capsys.readouterr().out.strip() == run_id  # only the id on stdout
    assert run["display_name"] == "nightly-1"
    assert run["experiment_id"] == "exp-0"
    assert [e["display_name"] for e in kfp_api.experiments.values()] == ["penguins"]
    assert run["runtime_config"]["parameters"] == {
        "input_pattern": "gs://bucket/*.csv",
        "train_steps": 50,
    }
    compiled = yaml.safe_load(Path(compile_pipeline(str(tmp_path / "p.yaml"))).read_text())
    assert run["pipeline_spec"] == compiled
    assert not kfp_api.recurring and "DELETE" not in [c[0] for c in kfp_api.calls]


def test_submit_no_cache_turns_caching_off_for_every_task(kfp_api):
    assert submit(kfp_api.host, "--param", "input_pattern=x", "--no-cache") == 0
    [run] = kfp_api.runs.values()
    tasks = run["pipeline_spec"]["root"]["dag"]["tasks"]
    assert {t["cachingOptions"].get("enableCache", False) for t in tasks.values()} == {False}


def test_submit_sends_the_trainer_hardware_in_the_platform_spec(kfp_api):
    params = ["--param", "input_pattern=x", "--param", "use_tpu=true"]
    assert submit(kfp_api.host, *params, *TPU) == 0
    [run] = kfp_api.runs.values()
    spec = run["pipeline_spec"]  # pipeline and platform spec, as the server stores them
    trainer = spec["platform_spec"]["platforms"]["kubernetes"]["deploymentSpec"]["executors"][
        "exec-trainer"
    ]
    assert trainer["nodeSelector"]["labels"] == {
        "cloud.google.com/gke-tpu-accelerator": "tpu-v5-lite-podslice",
        "cloud.google.com/gke-tpu-topology": "2x4",
    }
    resources = spec["pipeline_spec"]["deploymentSpec"]["executors"]["exec-trainer"]["container"][
        "resources"
    ]
    assert resources["accelerator"]["resourceType"] == "google.com/tpu"
    assert resources["accelerator"]["resourceCount"] == "8"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--param", "train_steps=5"], "the pipeline needs input_pattern"),
        (["--param", "input_pattern=x", "--param", "trian_steps=5"], "trian_steps: not a pipeline"),
        (["--param", "input_pattern=x", *TPU], "use_tpu is false"),
    ],
)
def test_submit_refuses_bad_parameters_before_contacting_the_server(kfp_api, capsys, argv, message):
    err = usage_error(
        capsys, "pipeline", "submit", "--host", kfp_api.host, "--experiment", "e", *argv
    )
    assert message in err
    assert not kfp_api.calls


@pytest.mark.parametrize("command", ["submit", "schedule"])
@pytest.mark.parametrize(
    "host",
    [
        "http://admin:s3cret-pass@127.0.0.1:8888",
        "http://127.0.0.1:8888/pipeline?token=s3cret-pass",
        "https://s3cret-pass@kfp.example.com",
    ],
)
def test_credentials_in_the_host_are_refused_and_never_printed(capsys, command, host):
    extra = ["--cron", "0 0 * * * *"] if command == "schedule" else []
    err = usage_error(capsys, "pipeline", command, "--host", host, "--experiment", "e", *extra)
    assert "s3cret-pass" not in err
    assert "--token-file" in err  # says how to authenticate instead


def test_a_token_file_authenticates_every_request_and_is_never_printed(kfp_api, tmp_path, capsys):
    token = tmp_path / "token"
    token.write_text("tok-123\n")
    assert submit(kfp_api.host, "--param", "input_pattern=x", "--token-file", str(token)) == 0
    assert {h.get("authorization") for h in kfp_api.headers} == {"Bearer tok-123"}
    out, err = capsys.readouterr()
    assert "tok-123" not in out + err


def test_a_refused_token_says_how_to_authenticate(kfp_api, capsys):
    kfp_api.reject["/experiments"] = (401, "Unauthorized: invalid token")
    assert submit(kfp_api.host, "--param", "input_pattern=x") == 1
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "invalid token" in err and "--token-file" in err
    assert not kfp_api.runs


def test_a_server_failing_its_health_check_names_it_and_how_to_log_in(kfp_api, capsys, monkeypatch):
    import kfp.client.client

    # kfp.Client retries the health check 5 times, 5 s apart: no need to wait here.
    monkeypatch.setattr(kfp.client.client.time, "sleep", lambda seconds: None)
    kfp_api.reject["/healthz"] = (401, "Unauthorized")
    assert submit(kfp_api.host, "--param", "input_pattern=x") == 1
    err = capsys.readouterr().err
    assert f"the KFP API at {kfp_api.host} failed its health check" in err
    assert "--token-file" in err and not kfp_api.runs


def test_an_unreachable_server_is_named(capsys):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    assert submit(f"http://127.0.0.1:{port}", "--param", "input_pattern=x") == 1
    assert f"cannot reach the KFP API at http://127.0.0.1:{port}" in capsys.readouterr().err
