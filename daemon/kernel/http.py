"""HTTP endpoints: / (the status page), /status (JSON), /metrics (Prometheus), /healthz, /readyz.

/healthz answers from the event loop itself, so a blocked loop fails the liveness probe.
/readyz is 200 only when every component reported itself ready (config loaded, AWS answered,
consumer polling). /status is the document of `status_model.py`; / is one static page that
reads it (no build step, nothing fetched from elsewhere: it works air-gapped), served with a
Content-Security-Policy that lets only its own script and style run. Nothing secret is ever
put on these pages: settings are not exposed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from importlib import resources

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from daemon.config.settings import HttpSettings
from daemon.kernel.status import StatusBoard
from daemon.obs.metrics import Metrics

log = structlog.get_logger(__name__)
PAGE = "status_page.html"


class HttpServer:
    """Serves the endpoints on `host:port` until stopped."""

    name = "http"

    def __init__(self, cfg: HttpSettings, metrics: Metrics, board: StatusBoard) -> None:
        self._cfg = cfg
        self._metrics = metrics
        self._board = board
        self._page = resources.files("daemon.kernel").joinpath(PAGE).read_bytes()
        self._page_headers = page_headers(self._page.decode("utf-8"))
        self.port: int | None = None
        self.app = web.Application()
        self.app.add_routes([
            web.get("/", self._index), web.get("/status", self._status),
            web.get("/metrics", self._metrics_page), web.get("/healthz", self._healthz),
            web.get("/readyz", self._readyz),
        ])

    async def run(self, stop: asyncio.Event) -> None:
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                               shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._cfg.host, self._cfg.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._cfg.port
        log.info("http.listening", host=self._cfg.host, port=self.port)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    async def _index(self, _: web.Request) -> web.Response:
        return web.Response(body=self._page, headers=self._page_headers)

    async def _status(self, _: web.Request) -> web.Response:
        return web.Response(text=self._board.document().model_dump_json(),
                            content_type="application/json",
                            headers={"Cache-Control": "no-store"})

    async def _metrics_page(self, _: web.Request) -> web.Response:
        body = self._metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _: web.Request) -> web.Response:
        board = self._board
        ready = board.ready()
        not_ready = {name: h.detail for name, h in board.health.items() if not h.ready}
        return web.json_response({"ready": ready, "not_ready": not_ready},
                                 status=200 if ready else 503)


def page_headers(html: str) -> dict[str, str]:
    """The page's headers: a CSP that admits exactly its inline script and style (by hash),
    requests to this daemon only, and nothing else (no frames, forms, plugins or fonts)."""
    scripts = " ".join(_hashes(html, "script"))
    styles = " ".join(_hashes(html, "style"))
    policy = (f"default-src 'none'; script-src {scripts}; style-src {styles}; "
              "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")
    return {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": policy,
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache"}


def _hashes(html: str, tag: str) -> list[str]:
    bodies = re.findall(rf"<{tag}>(.*?)</{tag}>", html, re.S)
    return [f"'sha256-{base64.b64encode(hashlib.sha256(b.encode()).digest()).decode()}'"
            for b in bodies] or ["'none'"]
