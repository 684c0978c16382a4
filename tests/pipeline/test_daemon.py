"""The whole daemon (run_daemon) against the stand-in: endpoints, a job wave, a restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from daemon import app
from daemon.app import Daemon, run_daemon
from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.kernel.kernel import Kernel
from daemon.obs.metrics import Metrics
from tests.pipeline.helpers import settings

pytestmark = pytest.mark.e2e
GIB = 2**30


@asynccontextmanager
async def running(s: Settings) -> AsyncIterator[tuple[Daemon, str]]:
    """run_daemon in a task; yields the wired daemon and its base URL once HTTP listens;
    stops it."""
    stop = asyncio.Event()
    ready: asyncio.Future[Daemon] = asyncio.get_running_loop().create_future()

    async def on_ready(daemon: Daemon) -> None:
        ready.set_result(daemon)

    task = asyncio.create_task(run_daemon(s, metrics=Metrics(CollectorRegistry()), stop=stop,
                                          on_ready=on_ready))
    daemon = await asyncio.wait_for(ready, 10)
    http = next(c for c in daemon.components if c.name == "http")
    while getattr(http, "port", None) is None:
        await asyncio.sleep(0.02)
    try:
        yield daemon, f"http://127.0.0.1:{http.port}"  # type: ignore[attr-defined]
    finally:
        stop.set()
        assert await asyncio.wait_for(task, 15) == 0


async def until(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, await resp.text()


@pytest.fixture
def estate(aws_env: dict[str, str], backup_fake: Any, make_queue: Callable[..., str],
           make_vault: Callable[..., Any], make_table: Callable[..., Any]) -> dict[str, Any]:
    queue = make_queue(dlq=True)
    backup_fake.set_event_target(queue)
    vault = make_vault()
    tables = [make_table(size_bytes=(i + 1) * GIB) for i in range(3)]
    return {"queue": queue, "vault": vault, "tables": tables, "fake": backup_fake}


async def test_daemon_tracks_a_job_wave_and_serves_its_endpoints(estate: dict[str, Any]) -> None:
    fake = estate["fake"]
    s = settings(queue_url=estate["queue"], limit_bytes=10 * GIB)
    async with running(s) as (daemon, base):
        await until(daemon.kernel.board.ready)
        status, _ = await get(base + "/readyz")
        assert status == 200
        jobs = [fake.inject_job(t.arn, estate["vault"].name, duration=float("inf"))
                for t in estate["tables"]]
        await until(lambda: daemon.kernel.tracker.running_bytes_total() == 6 * GIB)
        assert daemon.kernel.tracker.running_jobs_total() == 3
        _, text = await get(base + "/metrics")
        families = {f.name: f for f in text_string_to_metric_families(text)}
        running_bytes = families["backupd_backup_running_bytes"].samples
        assert sum(x.value for x in running_bytes) == 6 * GIB
        assert {x.labels["vault"] for x in running_bytes} == {estate["vault"].name}
        _, body = await get(base + "/status")
        assert json.loads(body)["jobs"]["running_bytes"] == 6 * GIB
        for job in jobs:
            fake.finish(job.job_id, "COMPLETED")
        await until(lambda: daemon.kernel.tracker.running_jobs_total() == 0)
        finished = daemon.kernel.metrics.registry.get_sample_value(
            "backupd_backup_jobs_finished_total", {"state": "COMPLETED", "resource_type": "DynamoDB"})
        assert finished == 3


async def test_after_a_restart_the_numbers_are_rebuilt_from_aws(estate: dict[str, Any]) -> None:
    fake = estate["fake"]
    s = settings(queue_url=estate["queue"])
    jobs = [fake.inject_job(t.arn, estate["vault"].name, duration=float("inf"))
            for t in estate["tables"]]
    async with running(s) as (daemon, _):
        await until(lambda: daemon.kernel.tracker.running_jobs_total() == 3)
    fake.finish(jobs[0].job_id, "COMPLETED")
    fake.clear_event_target()  # the COMPLETED event is lost while the daemon is down
    async with running(s) as (daemon, base):
        await until(daemon.kernel.board.ready)  # ready only after the first reconcile
        assert daemon.kernel.tracker.running_jobs_total() == 2
        assert daemon.kernel.tracker.running_bytes_total() == 5 * GIB
        truth = {j.job_id for j in fake.jobs() if j.state in {"CREATED", "PENDING", "RUNNING"}}
        assert {j.job_id for j in daemon.kernel.tracker.open_jobs()} == truth
        status, _ = await get(base + "/readyz")
        assert status == 200


class Stuck:
    """A component that ignores the stop request (a hung dependency)."""

    name = "stuck"

    async def run(self, stop: asyncio.Event) -> None:
        del stop
        await asyncio.Event().wait()


async def test_shutdown_is_bounded_by_the_grace_period(aws_env: dict[str, str],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    original = app.wire

    def wire_with_a_stuck_component(s: Settings, aws: AwsClients, kernel: Kernel) -> Daemon:
        daemon = original(s, aws, kernel)
        return replace(daemon, components=(*daemon.components, Stuck()))

    monkeypatch.setattr(app, "wire", wire_with_a_stuck_component)
    async with running(settings(shutdown_grace_seconds=1)) as (daemon, _):
        assert any(c.name == "stuck" for c in daemon.components)
    # `running` asserts exit code 0 within 15 s; without the bound this would hang forever.
