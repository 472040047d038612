"""`tpuest pipeline schedule` against a loopback server that plays the KFP v2beta1 API."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from pipelines.compile import compile_pipeline
from pipelines.tpuest import main
from pipelines.training_pipeline import PIPELINE_NAME


class FakeKfp:
    """Just enough of the KFP API: health, experiments, recurring runs (kept in memory)."""

    def __init__(self):
        self.calls = []
        self.experiments = {}
        self.recurring = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.host = f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, body, status=200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self):
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"{}")

            def do_GET(self):
                url = urlparse(self.path)
                fake.calls.append(("GET", url.path))
                if url.path.endswith("/healthz"):
                    return self._reply({"multi_user": False})
                if url.path.endswith("/experiments"):
                    wanted = parse_qs(url.query).get("filter", [""])[0]
                    found = [e for e in fake.experiments.values() if e["display_name"] in wanted]
                    return self._reply({"experiments": found, "total_size": len(found)})
                if url.path.endswith("/recurringruns"):
                    runs = list(fake.recurring.values())
                    return self._reply({"recurringRuns": runs, "total_size": len(runs)})
                return self._reply({}, 404)

            def do_POST(self):
                url = urlparse(self.path)
                body = self._body()
                fake.calls.append(("POST", url.path, body))
                if url.path.endswith("/experiments"):
                    experiment = {"experiment_id": f"exp-{len(fake.experiments)}", **body}
                    fake.experiments[experiment["experiment_id"]] = experiment
                    return self._reply(experiment)
                if url.path.endswith("/recurringruns"):
                    run = {"recurring_run_id": f"rr-{len(fake.calls)}", **body}
                    fake.recurring[run["recurring_run_id"]] = run
                    return self._reply(run)
                return self._reply({}, 404)

            def do_DELETE(self):
                url = urlparse(self.path)
                fake.calls.append(("DELETE", url.path))
                fake.recurring.pop(url.path.rsplit("/", 1)[-1], None)
                return self._reply({})

        return Handler

    def close(self):
        self.server.shutdown()


@pytest.fixture
def kfp_api():
    fake = FakeKfp()
    yield fake
    fake.close()


def schedule(kfp_api, *extra):
    return main(
        [
            "pipeline",
            "schedule",
            "--host",
            kfp_api.host,
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


def test_catchup_and_max_concurrency_reach_the_recurring_run(kfp_api):
    assert schedule(kfp_api, "--catchup", "--max-concurrency", "3", "--name", "nightly") == 0
    [run] = kfp_api.recurring.values()
    assert run["display_name"] == "nightly" and run["mode"] == "ENABLE"
    assert run["no_catchup"] is False
    assert int(run["max_concurrency"]) == 3


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
