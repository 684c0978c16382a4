"""Completed backups read back from AWS: the triggers a crash or a full queue could lose.

A completed backup reaches restores and exports through the bus, in memory: the SQS message
that carried it is deleted once the tracker applied it, so a crash (or a full task queue)
between that delete and the task reaching AWS would lose the trigger. This is the other way
in: every rescan lists what completed in the last `tasks.catchup_seconds` (ListBackupJobs
COMPLETED, and the scheduler's own AVAILABLE native backups from ListBackups) as the same
`BackupCompleted` items the bus carries, with the same times, so they map to the same
restore names and export tokens and a trigger already acted on is recognised as such.

With `accounts` (an Organization whose member accounts are reached through roles: the
cross-account monitoring selectors, each served account or `*`), the listing of backup jobs
covers those accounts too (`ListBackupJobs` with `ByAccountId`, from the management or
delegated administrator account); native backups are listed in the own account only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from daemon.aws.backups import list_native_backups
from daemon.aws.throttle import Throttle
from daemon.config.schedules import ScheduleSpec
from daemon.core import arns
from daemon.core.clock import Clock, aware_time
from daemon.core.scheduling.inventory import Listed
from daemon.kernel.bus import BackupCompleted
from daemon.obs.metrics_tasks import TaskMetrics

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_backup.type_defs import BackupJobTypeDef
    from types_aiobotocore_dynamodb.client import DynamoDBClient

    from daemon.aws.session import Connect

log = structlog.get_logger(__name__)
SHARE_SECONDS = 30.0  # restores and exports rescan together: one listing serves both


class CompletedBackups:
    """Lists recent completed backups; one listing is shared for `SHARE_SECONDS`."""

    def __init__(self, backup: Connect[BackupClient], dynamodb: Connect[DynamoDBClient],
                 throttle: Throttle, schedules: Sequence[ScheduleSpec], *, prefix: str,
                 catchup_seconds: float, region: str, clock: Clock,
                 metrics: TaskMetrics, accounts: Sequence[str] = ()) -> None:
        self._backup = backup
        self._dynamodb = dynamodb
        self._throttle = throttle  # of native listings: a bucket of its own (see wire.py)
        self._schedules = [s.name for s in schedules]
        self._native_schedules = [s.name for s in schedules if s.engine == "dynamodb"]
        self._prefix = prefix
        self._catchup_seconds = catchup_seconds
        self._region = region
        self._clock = clock
        self._metrics = metrics
        self._accounts = list(accounts)
        self._lock = asyncio.Lock()
        self._listed: tuple[datetime, list[BackupCompleted]] | None = None

    @property
    def enabled(self) -> bool:
        return self._catchup_seconds > 0

    async def recent(self) -> list[BackupCompleted]:
        """Backups completed since `now - tasks.catchup_seconds`, oldest first."""
        if not self.enabled:
            return []
        async with self._lock:
            now = self._clock.now()
            if self._listed is not None and \
                    (now - self._listed[0]).total_seconds() < SHARE_SECONDS:
                return self._listed[1]
            since = now - timedelta(seconds=self._catchup_seconds)
            found = [*await self._backup_jobs(since), *await self._native(since)]
            found.sort(key=lambda item: item.created)
            self._listed = (now, found)
            return found

    async def catch_up(self, kind: str, act: Callable[[], Awaitable[int]]) -> int:
        """Run one user's catch-up (`act`, which reads `recent()`) as a step of its own:
        a failure (AWS refusing a listing, throttling past the retries) is logged with its
        cause and counted, and does not fail the rest of that user's rescan."""
        if not self.enabled:
            return 0
        try:
            queued = await act()
        except Exception:
            log.exception(f"{kind}.catch_up_failed")
            self._metrics.rescanned(kind, "catch_up", ok=False)
            return 0
        self._metrics.rescanned(kind, "catch_up", ok=True)
        return queued

    async def _backup_jobs(self, since: datetime) -> list[BackupCompleted]:
        """AWS Backup jobs COMPLETED since `since` (any vault, any resource type), of the own
        account and of each of `accounts` (each job once)."""
        backup = await self._backup()
        paginator = backup.get_paginator("list_backup_jobs")
        jobs: dict[str, BackupJobTypeDef] = {}
        for account in [None, *self._accounts]:
            pages = (paginator.paginate(ByState="COMPLETED", ByCreatedAfter=since)
                     if account is None else
                     paginator.paginate(ByState="COMPLETED", ByCreatedAfter=since,
                                        ByAccountId=account))
            async for page in pages:
                jobs |= {job.get("BackupJobId") or str(len(jobs)): job
                         for job in page.get("BackupJobs", [])}
        return from_backup_jobs(jobs.values(), self._region)

    async def _native(self, since: datetime) -> list[BackupCompleted]:
        """The scheduler's native backups (named by it) that are AVAILABLE."""
        if not self._native_schedules:
            return []
        ddb = await self._dynamodb()
        listed = await list_native_backups(ddb, self._throttle, prefix=self._prefix,
                                           schedules=self._schedules, since=since)
        return from_native_backups(listed, self._native_schedules, self._region)


def from_backup_jobs(jobs: Iterable[BackupJobTypeDef], region: str) -> list[BackupCompleted]:
    """ListBackupJobs entries as bus items, timed as the job's event is (its CreationDate)."""
    out: list[BackupCompleted] = []
    for job in jobs:
        point, resource, created = (job.get("RecoveryPointArn"), job.get("ResourceArn"),
                                    job.get("CreationDate"))
        if job.get("State") != "COMPLETED" or not point or not resource or \
                not isinstance(created, datetime):
            continue
        size = job.get("BackupSizeInBytes")
        out.append(BackupCompleted(
            recovery_point_arn=point, resource_arn=resource,
            resource_type=job.get("ResourceType") or "", created=aware_time(created),
            origin="rescan", vault=job.get("BackupVaultName"), job_id=job.get("BackupJobId"),
            region=region, size_bytes=int(size) if size else None))
    return out


def from_native_backups(listed: Iterable[Listed], schedules: Iterable[str], region: str,
                        ) -> list[BackupCompleted]:
    """ListBackups entries the scheduler made, timed by their slot as the scheduler's are."""
    names = frozenset(schedules)
    return [BackupCompleted(
        recovery_point_arn=item.arn, resource_arn=arns.table_arn(item.arn) or item.arn,
        resource_type="DynamoDB", created=item.slot, origin="rescan", region=region)
        for item in listed
        if item.schedule in names and item.slot is not None and item.status == "AVAILABLE"
        and arns.is_dynamodb_backup(item.arn)]
