"""CloudWatch publishing: one batched PutMetricData per interval carrying every series.

Metrics `ConcurrentBackupBytes` and `RunningBackupJobs`, with dimensions Region, BackupType,
VaultName per group, plus an account-wide total without dimensions so an alarm needs no
metric math; with `cloudwatch.sample_compatible`, also `BackupJobSize` per group, as AWS's
concurrent backup monitor sample published it. `monitor.resource_types` and `monitor.states`
narrow which open jobs these totals count (`daemon.core.events.monitor`; the Prometheus
gauges always count every open job). Then the datums other capabilities contribute through
the kernel's `DatumSources` (scheduling: `OldestBackupAgeSeconds`, `LateTables`,
`UnprotectedTables`), in the same batch. At most 1000 datums per call (PutMetricData's
limit). A failure is logged and the next interval tries again with fresh numbers; the event
loop never waits on CloudWatch longer than one call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

import structlog

from daemon.config.settings import CloudWatchSettings
from daemon.core.clock import Clock
from daemon.core.events.monitor import Scope, Series, scoped_totals, series
from daemon.core.events.tracker import JobTable
from daemon.kernel.datums import DatumSources
from daemon.kernel.supervisor import sleep_or_stop
from daemon.obs.metrics import EventMetrics

if TYPE_CHECKING:
    from types_aiobotocore_cloudwatch.client import CloudWatchClient
    from types_aiobotocore_cloudwatch.literals import StandardUnitType
    from types_aiobotocore_cloudwatch.type_defs import DimensionTypeDef, MetricDatumTypeDef

    from daemon.aws.session import Connect

log = structlog.get_logger(__name__)
MAX_DATUMS = 1000


def datums(tracker: JobTable, now: datetime, scope: Scope | None = None, *,
           sample_compatible: bool = False) -> list[MetricDatumTypeDef]:
    """Every series of this moment as PutMetricData datums."""
    totals = scoped_totals(tracker, scope or Scope())
    return [_datum(one, now) for one in series(totals, sample_compatible=sample_compatible)]


def _datum(one: Series, now: datetime) -> MetricDatumTypeDef:
    unit: StandardUnitType = one.unit
    dims: list[DimensionTypeDef] = [{"Name": name, "Value": value} for name, value in one.dims]
    return {"MetricName": one.name, "Value": one.value, "Unit": unit, "Timestamp": now,
            "Dimensions": dims}


def chunks(items: list[MetricDatumTypeDef], size: int = MAX_DATUMS,
           ) -> Iterator[list[MetricDatumTypeDef]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


class CloudWatchPublisher:
    """Publishes the tracker's gauges every `cloudwatch.interval_seconds`."""

    name = "cloudwatch"

    def __init__(self, cloudwatch: Connect[CloudWatchClient], cfg: CloudWatchSettings,
                 tracker: JobTable, *, metrics: EventMetrics, clock: Clock,
                 scope: Scope | None = None, sources: DatumSources | None = None) -> None:
        self._cloudwatch = cloudwatch
        self._cfg = cfg
        self._scope = scope or Scope()
        self._tracker = tracker
        self._metrics = metrics
        self._clock = clock
        self._sources = sources or DatumSources()
        self.calls = 0

    async def run(self, stop: asyncio.Event) -> None:
        while not await sleep_or_stop(self._cfg.interval_seconds, stop):
            await self.run_once()
        await self.run_once()  # flush the last picture on the way out

    async def run_once(self) -> bool:
        cloudwatch = await self._cloudwatch()
        now = self._clock.now()
        batch = datums(self._tracker, now, self._scope,
                       sample_compatible=self._cfg.sample_compatible) + self._sources.collect(now)
        ok = True
        for part in chunks(batch):
            try:
                await cloudwatch.put_metric_data(Namespace=self._cfg.namespace, MetricData=part)
                self.calls += 1
            except Exception as exc:
                ok = False
                log.warning("cloudwatch.put_failed", error=str(exc), datums=len(part))
        self._metrics.cloudwatch_batch(ok)
        return ok
