"""A realistic run with a fifth of all AWS calls failing: 500/503, throttling, resets before
and after AWS acted, answers slower than the read timeout. Nothing may be lost or doubled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from prometheus_client import CollectorRegistry

from daemon.app import Daemon, run_daemon
from daemon.config.settings import Settings
from daemon.core.clock import FakeClock
from daemon.kernel.http import HttpServer
from daemon.obs.metrics import Metrics

from .faultproxy import FaultPlan, FaultProxy
from .scenario import (
    SLOT0,
    TABLES,
    World,
    build_world,
    check_jobs_final,
    check_one_backup_per_slot,
    check_retention,
    slot_names,
    start_wave,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
SLOTS = 3


async def eventually(what: str, problems: Callable[[], list[str]],
                     seconds: float = 45.0) -> None:
    """Wait until `problems()` is empty; fail naming them if it never is."""
    left: list[str] = []
    try:
        async with asyncio.timeout(seconds):
            while left := problems():
                await asyncio.sleep(0.25)
    except TimeoutError:
        raise AssertionError(f"{what} after {seconds} s: {left}") from None


def fast_timeouts(settings: Settings, read_timeout: float) -> Settings:
    """A read timeout below the validated floor (20 s, for SQS long polls of 20 s): the test
    polls SQS for 1 s, so delays past the timeout cost seconds, not minutes."""
    aws = settings.aws.model_copy(update={"read_timeout_seconds": read_timeout,
                                          "connect_timeout_seconds": read_timeout})
    return settings.model_copy(update={"aws": aws})


async def run_under_faults(world: World, fake: Any, plan: FaultPlan
                           ) -> tuple[dict[str, Any], FaultProxy]:
    """Run the scenario through the fault proxy; return what was seen at the end."""
    async with FaultProxy(world.endpoint, plan) as proxy:
        settings = fast_timeouts(Settings(**world.settings(proxy.url)), read_timeout=1.5)
        clock, stop = FakeClock(SLOT0 + timedelta(seconds=1)), asyncio.Event()
        metrics = Metrics(CollectorRegistry())
        ready: asyncio.Future[Daemon] = asyncio.get_running_loop().create_future()

        async def on_ready(wired: Daemon) -> None:
            ready.set_result(wired)

        daemon = asyncio.create_task(run_daemon(settings, metrics=metrics, clock=clock,
                                                stop=stop, on_ready=on_ready))
        try:
            wired = await ready
            jobs = start_wave(fake, world)
            names = slot_names(SLOTS)
            for minute in range(SLOTS):
                clock.current = SLOT0 + timedelta(minutes=minute, seconds=1)
                await eventually(f"slot {minute} backed up", lambda m=minute: [
                    t for t in TABLES if (t, names[m]) not in world.slots()])
            await eventually("retention and one backup per slot", lambda: [
                *check_retention(world, SLOTS), *check_one_backup_per_slot(world)])
            await eventually("jobs final in AWS and the tracker", lambda: [
                *check_jobs_final(fake, {j: wired.kernel.tracker.finished_state(j) for j in jobs}),
                *(f"{j} not final in the tracker" for j in jobs
                  if not wired.kernel.tracker.finished_state(j))])
            await eventually("queue drained", lambda: [f"{world.queue_depth()} messages left"]
                             if world.queue_depth() else [])
            await eventually("restore published and export written", lambda: [
                *([] if world.ssm_target() else ["no SSM parameter"]),
                *([] if world.exported() else ["nothing exported"])])
            seen = {"jobs": {j: wired.kernel.tracker.finished_state(j) for j in jobs},
                    "ready": await readyz(wired), "metrics": metrics}
        finally:
            stop.set()
            seen_code = await daemon
        seen["exit"] = seen_code
        return seen, proxy


async def readyz(wired: Daemon) -> int:
    http = next(c for c in wired.components if isinstance(c, HttpServer))
    async with aiohttp.ClientSession() as session, session.get(
            f"http://127.0.0.1:{http.port}/readyz") as resp:
        return resp.status


async def test_a_fifth_of_calls_failing_loses_and_doubles_nothing(
        fresh_standin: Any, aws_env: dict[str, str], make_table: Any, make_queue: Any,
        make_topic: Any, make_vault: Any) -> None:
    world = build_world(fresh_standin, make_table, make_queue, make_topic, make_vault)
    fake = fresh_standin.backup
    plan = FaultPlan(seed=20, rate=0.2, timeout_seconds=2.5, scripted={
        # AWS made the backup but the answer was lost: botocore's retry makes a second one
        # (slots 0 and 1 pass untouched: a duplicate there would expire anyway; slot 2's stay)
        "CreateBackup": [None] * 2 * len(TABLES) + ["lost_response", None, "lost_response"],
        # the first receive dies in a reset, the first delete of handled messages times out
        "ReceiveMessage": ["reset"], "DeleteMessageBatch": ["timeout"]})
    seen, proxy = await run_under_faults(world, fake, plan)
    print(f"faults injected: {proxy.injected} of {sum(proxy.calls.values())} calls "
          f"({dict(proxy.faults)})")
    assert check_one_backup_per_slot(world) == []
    assert check_retention(world, SLOTS) == []
    assert check_jobs_final(fake, seen["jobs"]) == []
    assert world.queue_depth() == 0  # every message handled and deleted
    assert world.ssm_target() is not None  # the restore finished and published
    assert world.exported()  # the export finished
    assert seen["ready"] == 200
    assert seen["exit"] == 0
    assert proxy.injected >= 0.15 * sum(proxy.calls.values())
    assert set(proxy.faults) == {"server_error", "throttle", "reset", "lost_response",
                                 "timeout"}
