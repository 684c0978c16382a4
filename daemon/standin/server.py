"""`StandIn`: moto's server and our AWS Backup fake behind one local port.

A WSGI wrapper sits in front of moto's `DomainDispatcherApplication` (what
`ThreadedMotoServer` runs): requests signed for the `backup` service whose method and path
are one of the faked operations go to `BackupFake`; everything else, including moto's own
Backup vault/plan/tag calls and `/moto-api/`, goes to moto unchanged. Two small repairs:
`POST /moto-api/reset` also resets the fake, and DynamoDB `DescribeTable` reports a real
`TableSizeBytes` (moto says 0) so size fallbacks can be exercised.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any
from urllib.parse import quote

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from daemon.standin import api, pitr_clock, signatures
from daemon.standin.auth import authorize, caller_account
from daemon.standin.backup_fake import BackupFake
from daemon.standin.protocol import BackupApiError, error_response
from daemon.standin.store import FakeConfig, acting_as

StartResponse = Callable[..., Any]


def client_env(endpoint_url: str, region: str = "us-east-1") -> dict[str, str]:
    """The environment a client (aioboto3, the AWS CLI, `ddb-backupd run`) needs to use
    the stand-in: dummy credentials, the region and `AWS_ENDPOINT_URL`. Returned, never set."""
    return {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing", "AWS_SECURITY_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region, "AWS_REGION": region, "AWS_ENDPOINT_URL": endpoint_url,
    }


class _QuietHandler(MotoRequestHandler):
    """moto's request handler without werkzeug's per-request access log."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs

    def log(self, *args: Any, **kwargs: Any) -> None:
        del args, kwargs


class StandInApp:
    """The WSGI application: route the faked Backup operations, pass the rest to moto."""

    def __init__(self, fake: BackupFake) -> None:
        self.fake = fake
        self.moto = DomainDispatcherApplication(create_backend_app)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        with acting_as(caller_account(environ)):
            return self._serve(environ, start_response)

    def _serve(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "")
        if method == "POST" and path.rstrip("/") == "/moto-api/reset":
            self.fake.reset()
        service, region = _scope(environ.get("HTTP_AUTHORIZATION", ""))
        if service == "backup":
            raw_uri = _raw_uri(environ)
            raw_path, _, raw_query = raw_uri.partition("?")
            hit = api.match(method, raw_path)
            if hit is not None:
                operation, handler, labels = hit
                body = _read_body(environ)
                caller = self.fake.store.account  # the caller's: see acting_as above
                try:
                    authorize(environ, operation, raw_uri, body, caller)
                except BackupApiError as err:
                    resp = error_response(err)
                else:
                    resp = api.handle(self.fake, handler, method=method, raw_path=raw_path,
                                      labels=labels, raw_query=raw_query, raw_body=body,
                                      region=region or self.fake.region, caller=caller)
                headers = [*resp.headers, ("Content-Length", str(len(resp.body)))]
                start_response(f"{resp.status} {_REASONS.get(resp.status, 'OK')}", headers)
                return [resp.body]
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if service == "dynamodb" and target.endswith(".DescribeTable"):
            return self._describe_table(environ, start_response, region or self.fake.region)
        return self.moto(environ, start_response)  # type: ignore[no-any-return]

    def _describe_table(self, environ: dict[str, Any], start_response: StartResponse,
                        region: str) -> Iterable[bytes]:
        """moto's answer with `TableSizeBytes` filled in from the bridge."""
        captured: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], *_exc: Any) -> None:
            captured.extend([status, headers])

        body = b"".join(self.moto(environ, capture))
        status, headers = captured
        if status.startswith("200"):
            try:
                doc = json.loads(body)
                table = doc["Table"]
                size = self.fake.bridge.table_size_bytes(region, table["TableName"])
                table["TableSizeBytes"] = size or 0
                body = json.dumps(doc).encode()
            except (ValueError, KeyError, TypeError):
                pass
        headers = [(k, v) for k, v in headers
                   if k.lower() not in {"content-length", "x-amz-crc32"}]
        start_response(status, [*headers, ("Content-Length", str(len(body))),
                                ("x-amz-crc32", str(zlib.crc32(body)))])
        return [body]


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
            500: "Internal Server Error"}


def _scope(auth: str) -> tuple[str | None, str | None]:
    """(service, region) from a SigV4 `Authorization` header's credential scope."""
    try:
        credential = auth.split("Credential=", 1)[1].split(",", 1)[0]
        _, _, region, service, _ = credential.split("/")
    except (IndexError, ValueError):
        return None, None
    return service.lower(), region


def _raw_uri(environ: dict[str, Any]) -> str:
    """The request target as sent (labels still percent-encoded)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    query = environ.get("QUERY_STRING", "")
    return quote(environ.get("PATH_INFO", "")) + (f"?{query}" if query else "")


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return environ["wsgi.input"].read(length) if length > 0 else b""


class StandIn:
    """moto + the AWS Backup fake on one local port: `with StandIn() as s: s.endpoint_url`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, region: str = "us-east-1",
                 config: FakeConfig | None = None) -> None:
        self.host = host
        self.port = port
        self.region = region
        self.backup = BackupFake(region=region, config=config)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        if self._server is None:
            raise RuntimeError("StandIn is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        """Bind, serve in a background thread, start the fake's clock; returns the URL."""
        if self._server is None:
            pitr_clock.install()
            signatures.install()
            self._server = make_server(self.host, self.port, StandInApp(self.backup),
                                       threaded=True, request_handler=_QuietHandler)
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.1},
                                            name="standin-http", daemon=True)
            self._thread.start()
            self.backup.start_clock()
        return self.endpoint_url

    def stop(self) -> None:
        """Stop the clock and the server; idempotent."""
        self.backup.stop_clock()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = self._thread = None

    def env(self) -> dict[str, str]:
        """`client_env` for this stand-in."""
        return client_env(self.endpoint_url, self.region)

    def reset(self) -> None:
        """Reset moto (every backend, as `POST /moto-api/reset`) and the fake."""
        from moto.moto_api._internal.models import moto_api_backend  # noqa: PLC0415

        moto_api_backend.reset()
        self.backup.reset()

    def __enter__(self) -> StandIn:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
