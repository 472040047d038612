"""A loopback server that plays just enough of the KFP v2beta1 API for `schedule` and `submit`:
health, experiments, runs and recurring runs (kept in memory), with faults on request."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


class FakeKfp:
    """Records every call (method, path[, body]) and its headers; `reject[suffix] = (status,
    message)` answers a GET or POST to a path ending in suffix with that error, `drop` (a set
    of suffixes) closes the connection on such a POST without answering."""

    def __init__(self):
        self.calls = []
        self.headers = []
        self.experiments = {}
        self.recurring = {}
        self.runs = {}
        self.reject: dict[str, tuple[int, str]] = {}
        self.drop: set[str] = set()
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
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                for suffix, (status, message) in fake.reject.items():
                    if url.path.endswith(suffix):
                        return self._reply({"error": message, "message": message}, status)
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
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                for suffix, (status, message) in fake.reject.items():
                    if url.path.endswith(suffix):
                        return self._reply({"error": message, "message": message}, status)
                if any(url.path.endswith(suffix) for suffix in fake.drop):
                    self.close_connection = True
                    return None  # no response at all: the client sees the connection drop
                if url.path.endswith("/experiments"):
                    experiment = {"experiment_id": f"exp-{len(fake.experiments)}", **body}
                    fake.experiments[experiment["experiment_id"]] = experiment
                    return self._reply(experiment)
                if url.path.endswith("/recurringruns"):
                    run = {"recurring_run_id": f"rr-{len(fake.calls)}", **body}
                    fake.recurring[run["recurring_run_id"]] = run
                    return self._reply(run)
                if url.path.endswith("/runs"):
                    run = {"run_id": f"run-{len(fake.calls)}", **body}
                    fake.runs[run["run_id"]] = run
                    return self._reply(run)
                return self._reply({}, 404)

            def do_DELETE(self):
                url = urlparse(self.path)
                fake.calls.append(("DELETE", url.path))
                fake.recurring.pop(url.path.rsplit("/", 1)[-1], None)
                return self._reply({})

        return Handler

    def methods(self) -> list[str]:
        """The calls as 'METHOD last-path-part', in order (e.g. 'POST recurringruns')."""
        return [f"{c[0]} {c[1].rstrip('/').rsplit('/', 1)[-1]}" for c in self.calls]

    def close(self):
        self.server.shutdown()
        self.server.server_close()
