"""The whole daemon, built by the composition root, runs the demo's schedule on the stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import CollectorRegistry

from daemon.app import run_daemon
from daemon.core.clock import FakeClock
from daemon.obs.metrics import Metrics
from tests.scheduler.conftest import backup_names, settings_for

pytestmark = pytest.mark.e2e
SLOT = datetime(2026, 11, 24, 5, tzinfo=UTC)


async def eventually(check: Callable[[], bool], seconds: float = 20.0) -> None:
    """Poll until `check()` holds (the daemon runs on its own ticks)."""
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.1)


async def test_a_minutely_schedule_with_keep_last_2_backs_up_and_prunes(aws_env, make_table,
                                                                         ddb):
    make_table("orders-demo")
    settings = settings_for(
        [{"name": "demo", "expression": "rate(1 minute)", "tables": ["*"],
          "retention": {"keep_last": 2}}],
        scheduler={"tick_seconds": 0.5, "discovery_interval_seconds": 1,
                   "retention_interval_seconds": 2},
        http={"host": "127.0.0.1", "port": 0})
    clock, stop = FakeClock(SLOT + timedelta(seconds=1)), asyncio.Event()
    metrics = Metrics(CollectorRegistry())
    daemon = asyncio.create_task(run_daemon(settings, metrics=metrics, clock=clock, stop=stop))
    try:
        for minute in range(4):
            clock.current = SLOT + timedelta(minutes=minute, seconds=1)
            name = f"backupd-demo-{SLOT + timedelta(minutes=minute):%Y%m%d%H%M}@orders-demo"
            await eventually(lambda name=name: name in backup_names(ddb))
        await eventually(lambda: len(backup_names(ddb)) == 2)
    finally:
        stop.set()
        await daemon
    assert backup_names(ddb) == ["backupd-demo-202611240502@orders-demo",
                                 "backupd-demo-202611240503@orders-demo"]
    assert metrics.registry.get_sample_value(
        "backupd_retention_deletions_total", {"schedule": "demo", "outcome": "deleted"}) == 2
