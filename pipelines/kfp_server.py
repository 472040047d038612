"""Talking to a Kubeflow Pipelines server: the endpoint, how to authenticate, and errors that say
what went wrong without printing a credential."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import urllib.parse

AUTH_HELP = (
    "authenticate with --token-file FILE (a bearer token, e.g. <(gcloud auth print-access-token)),"
    " --sa-token-path FILE (a projected service account token, in a cluster), --iap-client-id ID "
    "(Identity-Aware Proxy) or --cookies-file FILE (e.g. a Dex session cookie)"
)


class ServerError(RuntimeError):
    """The KFP server could not be reached, or refused or failed a request."""


def check_host(url: str) -> str:
    """Returns `url` if it is an http(s) endpoint without credentials in it.

    Raises:
        ValueError: not http(s)://HOST[:PORT][/PATH], or it carries a user/password or a query
            string (the client would print them and never authenticate with them). The message
            shows the URL without them.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return _refuse(parts, "is not an http(s):// URL")
    if parts.username is not None or parts.password is not None:
        return _refuse(parts, "carries a user name or password: they are not used to log in")
    if parts.query or parts.fragment:
        return _refuse(parts, "has a query string (?...) or fragment: a token there is not used")
    return url


def _refuse(parts: urllib.parse.SplitResult, rule: str):
    host = parts.hostname or ""
    shown = urllib.parse.urlunsplit(
        (parts.scheme, f"{host}:{parts.port}" if parts.port else host, parts.path, "", "")
    )
    raise ValueError(f"--host {shown} {rule}; pass the bare endpoint and {AUTH_HELP}")


@dataclasses.dataclass(frozen=True)
class Server:
    """A KFP API endpoint and how to authenticate to it (at most one way; none for a
    port-forwarded or unauthenticated endpoint).

    Args:
        host: http(s)://HOST[:PORT][/PATH], without credentials.
        namespace: the Kubernetes namespace of a multi-user deployment ("" for single-user).
        token_file: a file holding a bearer token (kfp.Client's existing_token).
        sa_token_path: a projected service account token file (kfp.Client's credentials, as
            ServiceAccountTokenVolumeCredentials), for clients running in the cluster.
        iap_client_id: the OAuth client id of an Identity-Aware Proxy in front of KFP.
        cookies_file: a file holding a Cookie header value, e.g. "authservice_session=...".
        ssl_ca_cert: a CA bundle for an https endpoint with a private certificate.
    """

    host: str
    namespace: str = ""
    token_file: str = ""
    sa_token_path: str = ""
    iap_client_id: str = ""
    cookies_file: str = ""
    ssl_ca_cert: str = ""

    def __post_init__(self):
        check_host(self.host)
        ways = [n for n in ("token_file", "sa_token_path", "iap_client_id") if getattr(self, n)]
        if len(ways) > 1:
            raise ValueError(f"authenticate one way, not with {' and '.join(ways)}")

    def client(self):
        """A kfp.Client for this server.

        Raises:
            ServerError: the server cannot be reached or refuses us.
            OSError: a token or cookie file cannot be read.
        """
        import kfp

        kwargs = {"host": self.host}
        if self.namespace:
            kwargs["namespace"] = self.namespace
        if self.token_file:
            kwargs["existing_token"] = _read_secret(self.token_file, "--token-file")
        if self.sa_token_path:
            kwargs["credentials"] = kfp.client.ServiceAccountTokenVolumeCredentials(
                path=self.sa_token_path
            )
        if self.iap_client_id:
            kwargs["client_id"] = self.iap_client_id
        if self.cookies_file:
            kwargs["cookies"] = _read_secret(self.cookies_file, "--cookies-file")
        if self.ssl_ca_cert:
            kwargs["ssl_ca_cert"] = self.ssl_ca_cert
        with self.errors("connecting"):
            return kfp.Client(**kwargs)

    @contextlib.contextmanager
    def errors(self, doing: str):
        """Turns the client's failures into a ServerError naming the host and what we were
        doing; response headers (which can carry cookies) are left out."""
        import kfp_server_api
        import urllib3

        try:
            yield
        except kfp_server_api.ApiException as e:
            hint = f"; {AUTH_HELP}" if e.status in (401, 403) else ""
            raise ServerError(
                f"{doing}: the KFP API at {self.host} answered HTTP {e.status} {e.reason}"
                f"{_message(e.body)}{hint}"
            ) from None
        except TimeoutError:  # kfp.Client's health check, retried 5 times, never answered 200
            raise ServerError(
                f"{doing}: the KFP API at {self.host} failed its health check (/apis/v2beta1/"
                f"healthz); check the endpoint, and if it needs a login, {AUTH_HELP}"
            ) from None
        except (urllib3.exceptions.HTTPError, ConnectionError) as e:
            reason = getattr(e, "reason", None) or e
            raise ServerError(
                f"{doing}: cannot reach the KFP API at {self.host}: {type(reason).__name__}"
            ) from None


def _read_secret(path: str, flag: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            value = f.read().strip()
    except OSError as e:
        raise OSError(f"{flag} {path}: {e.strerror}") from None
    if not value:
        raise ValueError(f"{flag} {path} is empty")
    return value


def _message(body) -> str:
    """The server's own error message from a response body, if it has one."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(body or "")
    except ValueError:
        return ""
    message = parsed.get("message") or parsed.get("error") if isinstance(parsed, dict) else ""
    return f": {str(message)[:500]}" if message else ""
