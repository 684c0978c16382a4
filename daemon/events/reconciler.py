"""The reconciler: ListBackupJobs in the open states is the truth that repairs the tracker.

Events give latency, listing gives truth. At start (the tracker is empty after a restart:
in-memory state is lost by design) and every `reconcile_seconds`: jobs AWS lists as open are
added or advanced; jobs the tracker holds open that AWS no longer lists are described one by
one and their true final state applied (a COMPLETED event we never got).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog

from daemon.core.events.decode import OPEN_STATES, JobEvent
from daemon.events.pipeline import Pipeline
from daemon.kernel.context import AppContext
from daemon.kernel.supervisor import backoff_delay, sleep_or_stop

log = structlog.get_logger(__name__)
LOOKBACK = timedelta(days=7)  # AWS keeps open jobs listed; bound the scan anyway


def job_event(job: dict[str, Any], region: str, seen_at: datetime) -> JobEvent:
    """A DescribeBackupJob / ListBackupJobs entry as the event the pipeline understands.

    Its `time` is when the listing was taken: the tracker orders same-state updates by it.
    """
    size = job.get("BackupSizeInBytes")
    created = job.get("CreationDate") or seen_at
    return JobEvent(
        kind="backup_job", job_id=job["BackupJobId"], state=job.get("State"),
        resource_arn=job.get("ResourceArn"), resource_type=job.get("ResourceType"),
        vault=job.get("BackupVaultName"), region=region, account=job.get("AccountId"),
        size_bytes=int(size) if size else None,
        time=seen_at, recovery_point_arn=job.get("RecoveryPointArn"),
        creation_date=created, status_message=job.get("StatusMessage"), source="api",
    )


class Reconciler:
    """Repairs the tracker from ListBackupJobs at start and every `reconcile_seconds`."""

    name = "reconciler"

    def __init__(self, ctx: AppContext, pipeline: Pipeline) -> None:
        self._ctx = ctx
        self._pipeline = pipeline
        self.last_success: datetime | None = None
        ctx.board.set_health("reconciler", False, "first reconcile not done yet")
        ctx.board.add("reconcile", lambda: {"last_success": self.last_success})

    async def run(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                self._ctx.metrics.events.reconciled(False, 0, 0.0)
                log.warning("reconcile.failed", error=str(exc), attempt=attempt)
                await sleep_or_stop(backoff_delay(attempt, base=2.0, cap=60.0), stop)
                continue
            attempt = 0
            await sleep_or_stop(self._ctx.settings.reconcile_seconds, stop)

    async def run_once(self) -> int:
        """One reconcile pass; returns the number of repairs made."""
        backup = await self._ctx.clients.client("backup")
        now = self._ctx.clock.now()
        region = self._ctx.settings.region
        listed = [job_event(j, region, now) async for j in self._list_open(backup, now)]
        plan = self._ctx.tracker.diff(listed, region=region)
        repairs = 0
        for event in plan.upserts:
            repairs += await self._pipeline.apply(event, origin="reconcile")
        for job_id in plan.vanished:
            repairs += await self._close(backup, job_id)
        await self._pipeline.settle()  # sizes of the jobs just learned, before "ready"
        self.last_success = now
        self._ctx.metrics.events.reconciled(True, repairs, now.timestamp())
        self._ctx.board.set_health("reconciler", True)
        log.info("reconcile.done", listed_open=len(listed), repairs=repairs,
                 vanished=len(plan.vanished), running_jobs=self._ctx.tracker.running_jobs_total())
        return repairs

    async def _list_open(self, backup: Any, now: datetime) -> Any:
        paginator = backup.get_paginator("list_backup_jobs")
        for state in sorted(OPEN_STATES):
            async for page in paginator.paginate(ByState=state, ByCreatedAfter=now - LOOKBACK):
                for job in page.get("BackupJobs", []):
                    yield job

    async def _close(self, backup: Any, job_id: str) -> int:
        try:
            job = await backup.describe_backup_job(BackupJobId=job_id)
        except backup.exceptions.ResourceNotFoundException:
            log.warning("reconcile.job_unknown", job_id=job_id)
            return 0
        seen_at = self._ctx.clock.now()
        return await self._pipeline.apply(job_event(job, self._ctx.settings.region, seen_at),
                                          origin="reconcile")
