"""The fixtures of the status tests: Chromium, the demo whose page and /status they read, and
the daemon's HTTP server for a board of their own."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from daemon.config.settings import HttpSettings
from daemon.kernel.http import HttpServer
from daemon.kernel.status import StatusBoard
from daemon.obs.metrics import Metrics
from tests.deploy.processes import free_port, http_get, started, wait_for
from tests.status.chromium import Page, chromium, install_chromium
from tests.status.steady import Demo


@pytest.fixture(scope="session")
def chromium_binary() -> str:
    """Debian's Chromium, installed if missing; the tests that need it skip, saying why,
    only where it cannot be installed."""
    try:
        return install_chromium()
    except RuntimeError as exc:
        pytest.skip(str(exc))


@pytest.fixture
async def page(chromium_binary: str) -> AsyncIterator[Page]:
    async with chromium(chromium_binary) as opened:
        yield opened


@pytest.fixture(scope="package")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """`ddb-backupd demo` running (its wave of jobs, schedule, restores and alerts)."""
    port, work = free_port(), tmp_path_factory.mktemp("demo")
    command = [sys.executable, "-m", "daemon", "demo", "--seconds", "900", "--port", str(port)]
    with started(command, work / "demo.log", cwd=work) as proc:
        base = f"http://127.0.0.1:{port}"
        wait_for("the demo's /readyz", lambda: http_get(f"{base}/readyz")[0] == 200, 60, proc)
        yield Demo(base, work / "demo.log")


@pytest.fixture(scope="package")
def demo(demo_run: Demo) -> str:
    """The running demo's URL."""
    return demo_run.url


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[web.Application | StatusBoard], Any]]:
    """`await serve(board or app)`: an HTTP server on a free port; its URL."""
    stop = asyncio.Event()
    running: list[asyncio.Task[None]] = []
    runners: list[web.AppRunner] = []

    async def start(what: web.Application | StatusBoard) -> str:
        if isinstance(what, web.Application):
            runner = web.AppRunner(what)
            await runner.setup()
            port = free_port()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            runners.append(runner)
            return f"http://127.0.0.1:{port}"
        server = HttpServer(HttpSettings(host="127.0.0.1", port=0),
                            Metrics(CollectorRegistry()), what)
        running.append(asyncio.create_task(server.run(stop)))
        while server.port is None:
            await asyncio.sleep(0.01)
        return f"http://127.0.0.1:{server.port}"

    yield start
    stop.set()
    await asyncio.gather(*running)
    for runner in runners:
        await runner.cleanup()
