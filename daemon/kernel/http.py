"""HTTP endpoints: /metrics (Prometheus), /healthz (loop alive), /readyz, /status (JSON).

/healthz answers from the event loop itself, so a blocked loop fails the liveness probe.
/readyz is 200 only when every component reported itself ready (config loaded, AWS answered,
consumer polling). Nothing secret is ever put on these pages: settings are not exposed.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from daemon import __version__
from daemon.config.settings import HttpSettings
from daemon.kernel.status import StatusBoard
from daemon.obs.metrics import Metrics

log = structlog.get_logger(__name__)


class HttpServer:
    """Serves the four endpoints on `http.host:http.port` until stopped."""

    name = "http"

    def __init__(self, cfg: HttpSettings, metrics: Metrics, board: StatusBoard) -> None:
        self._cfg = cfg
        self._all_metrics = metrics
        self._board = board
        self._started = time.monotonic()
        self.port: int | None = None
        self.app = web.Application()
        self.app.add_routes([
            web.get("/metrics", self._metrics), web.get("/healthz", self._healthz),
            web.get("/readyz", self._readyz), web.get("/status", self._status),
        ])

    async def run(self, stop: asyncio.Event) -> None:
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False,
                               shutdown_timeout=1.0)
        await runner.setup()
        cfg = self._cfg
        site = web.TCPSite(runner, cfg.host, cfg.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else cfg.port
        log.info("http.listening", host=cfg.host, port=self.port)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    async def _metrics(self, _: web.Request) -> web.Response:
        body = self._all_metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _: web.Request) -> web.Response:
        board = self._board
        ready = board.ready()
        not_ready = {name: h.detail for name, h in board.health.items() if not h.ready}
        return web.json_response({"ready": ready, "not_ready": not_ready},
                                 status=200 if ready else 503)

    async def _status(self, _: web.Request) -> web.Response:
        body: dict[str, Any] = {
            "version": __version__,
            "uptime_seconds": round(time.monotonic() - self._started, 1),
            "ready": self._board.ready(),
            **self._board.snapshot(),
        }
        return web.Response(text=json.dumps(body, default=str, sort_keys=True),
                            content_type="application/json")
