"""Fixtures of the scheduler's end-to-end tests: scheduler instances on the local stand-in.

`instance(schedules, clock)` wires the scheduling capability as `app.py` does (discovery,
scheduler, retention, freshness, coverage) on fresh clients and its own metrics, as a leader
would; building a second one with the same settings is a restart or a second replica: nothing
carries over but AWS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
import pytest
from prometheus_client import CollectorRegistry

from daemon.app import build_kernel
from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.clock import FakeClock
from daemon.kernel.kernel import Kernel
from daemon.obs.metrics import Metrics
from daemon.scheduling.coverage import CoverageWatch
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.freshness import FreshnessTracker
from daemon.scheduling.retention import RetentionRunner
from daemon.scheduling.scheduler import BackupScheduler
from daemon.scheduling.wire import wire

FAST = {"tick_seconds": 1, "api_calls_per_second": 500, "concurrency": 4, "spread_seconds": 0}


@dataclass
class Instance:
    """One scheduler instance (a leader), driven pass by pass with `tick(now)`."""

    kernel: Kernel
    catalog: TableCatalog
    scheduler: BackupScheduler
    retention: RetentionRunner
    clock: FakeClock
    freshness: FreshnessTracker
    coverage: CoverageWatch | None

    async def tick(self, now: datetime | None = None, *, prune: bool = False) -> None:
        """Discovery, one scheduler pass, then (optionally) one retention pass, at `now`."""
        if now is not None:
            self.clock.current = now
        await self.catalog.run_once()
        await self.scheduler.run_once(self.clock.now())
        await self.scheduler.starter.drain()
        if prune:
            await self.retention.run_once(self.clock.now())

    def metric(self, name: str, **labels: str) -> float:
        return self.kernel.metrics.registry.get_sample_value(name, labels) or 0.0


def settings_for(schedules: list[dict[str, Any]], **overrides: Any) -> Settings:
    scheduler = {**FAST, **overrides.pop("scheduler", {})}
    return Settings(region="us-east-1", schedules=schedules, scheduler=scheduler,
                    cloudwatch={"enabled": False}, **overrides)


@pytest.fixture
async def instance(aws_env: dict[str, str]) -> AsyncIterator[Callable[..., Awaitable[Instance]]]:
    """`await instance(schedules, clock, **settings)` -> a fresh scheduler instance."""
    del aws_env
    async with AsyncExitStack() as stack:

        async def make(schedules: list[dict[str, Any]], clock: FakeClock,
                       **overrides: Any) -> Instance:
            settings = settings_for(schedules, **overrides)
            metrics = Metrics(CollectorRegistry())
            clients = await stack.enter_async_context(
                AwsClients(settings.aws, settings.region, metrics))
            kernel = build_kernel(settings, clients, metrics, clock)
            kernel.leadership.set(True)  # as the leader gate does once elected
            wired = wire(settings, clients, kernel)
            return Instance(kernel, wired.catalog, wired.scheduler, wired.retention, clock,
                            wired.freshness, wired.coverage)

        yield make


@pytest.fixture
def ddb(fresh_standin: Any) -> Any:
    """A synchronous DynamoDB client on the stand-in, to look at what AWS holds."""
    return boto3.client("dynamodb", region_name=fresh_standin.region,
                        endpoint_url=fresh_standin.endpoint_url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def backup_names(ddb: Any) -> list[str]:
    """Every USER backup's name, sorted (one entry per backup: duplicates show twice)."""
    summaries = ddb.list_backups(BackupType="USER")["BackupSummaries"]
    return sorted(s["BackupName"] + "@" + s["TableName"] for s in summaries)
