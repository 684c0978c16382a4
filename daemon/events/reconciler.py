"""The reconciler: ListBackupJobs in the open states is the truth that repairs the tracker.

Events give latency, listing gives truth. At start (the tracker is empty after a restart:
in-memory state is lost by design) and every `reconcile_seconds`: jobs AWS lists as open are
added or advanced; jobs the tracker holds open that AWS no longer lists are described one by
one and their true final state applied (a COMPLETED event we never got). From the second
pass on, the jobs that ended since the previous pass are listed too (ByCompleteAfter, one
period of overlap): a job that started and ended between two passes, never listed open, is
still seen when its events are missing, and a FAILED one still raises its alert. Jobs listed
twice are dropped by the tracker's memory of finished jobs; the first pass lists no history,
so a restart does not raise old failures again.

Which accounts a pass covers: without `accounts` the daemon's own (ListBackupJobs without
`ByAccountId` lists the caller's jobs; which account that is, is learned from the `AccountId`
AWS returns, and jobs of other accounts are left alone). With `accounts` (an Organization:
`organization.enabled`), AWS Backup's cross-account monitoring lists each of them, or `*`
for every member account, and a job the listing no longer shows is looked up by a listing of
its own account and resource (DescribeBackupJob answers for the caller's own jobs only).
Jobs of accounts not served here (`accounts:`) are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

import structlog

from daemon.core.clock import Clock
from daemon.core.events.decode import OPEN_STATES, JobEvent
from daemon.core.events.tracker import JobTable
from daemon.events.pipeline import Pipeline
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import repeat, sleep_or_stop
from daemon.obs.metrics import EventMetrics

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_backup.literals import BackupJobStateType
    from types_aiobotocore_backup.type_defs import BackupJobTypeDef, DescribeBackupJobOutputTypeDef

    from daemon.aws.session import Connect

log = structlog.get_logger(__name__)
LOOKBACK = timedelta(days=7)  # AWS keeps open jobs listed; bound the scan anyway


def job_event(job: BackupJobTypeDef | DescribeBackupJobOutputTypeDef, region: str,
              seen_at: datetime) -> JobEvent:
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

    def __init__(self, backup: Connect[BackupClient], pipeline: Pipeline, tracker: JobTable, *,
                 region: str, interval_seconds: float, metrics: EventMetrics,
                 board: StatusBoard, clock: Clock, accounts: Sequence[str] | None = None,
                 ) -> None:
        self._backup = backup
        self._accounts = list(accounts) if accounts is not None else None
        self._home: str | None = None  # the caller's account, once AWS has named it
        self._pipeline = pipeline
        self._tracker = tracker
        self._region = region
        self._interval = interval_seconds
        self._metrics = metrics
        self._board = board
        self._clock = clock
        self.last_success: datetime | None = None
        self._passed_at: float | None = None  # loop time of the last successful pass
        self._first_pass: datetime | None = None
        self._ended_since: datetime | None = None  # list jobs ended after this (None: don't)
        board.set_health("reconciler", False, "first reconcile not done yet")
        board.add("reconcile", lambda: {
            "last_success": self.last_success,
            "accounts": self._accounts if self._accounts is not None else "own"})

    async def run(self, stop: asyncio.Event) -> None:
        if self._passed_at is not None:  # a new leader reconciled just before running this
            since = asyncio.get_running_loop().time() - self._passed_at
            if await sleep_or_stop(self._interval - since, stop):
                return
        await repeat(self.run_once, stop, interval=self._interval, failed=self._failed)

    def _failed(self, exc: Exception, attempt: int) -> None:
        self._metrics.reconciled(False, 0, 0.0)
        log.warning("reconcile.failed", error=str(exc), attempt=attempt)

    async def run_once(self) -> int:
        """One reconcile pass; returns the number of repairs made."""
        backup = await self._backup()
        now = self._clock.now()
        open_jobs, ended_jobs = await asyncio.gather(self._list_open(backup, now),
                                                     self._list_ended(backup))
        listed = [job_event(j, self._region, now) for j in open_jobs]
        ended = [job_event(j, self._region, now) for j in ended_jobs]
        if self._accounts is None and self._home is None:
            self._home = next((e.account for e in [*listed, *ended] if e.account), None)
        repairs = 0
        for event in ended:  # first: a tracked job that ended needs no DescribeBackupJob
            if self._pipeline.serves(event):
                repairs += await self._pipeline.apply(event, origin="reconcile")
        listed = [event for event in listed if self._pipeline.serves(event)]
        plan = self._tracker.diff(listed, region=self._region, accounts=self._covered())
        for event in plan.upserts:
            repairs += await self._pipeline.apply(event, origin="reconcile")
        for job_id in plan.vanished:
            repairs += await self._close(backup, job_id)
        await self._pipeline.settle()  # sizes of the jobs just learned, before "ready"
        self.last_success, self._passed_at = now, asyncio.get_running_loop().time()
        # the next pass lists jobs ended since this one, one period earlier in case AWS lists
        # an end late or its clock is behind ours, but never before the first pass
        self._first_pass = self._first_pass or now
        self._ended_since = max(now - timedelta(seconds=self._interval), self._first_pass)
        self._metrics.reconciled(True, repairs, now.timestamp())
        self._board.set_health("reconciler", True)
        log.info("reconcile.done", listed_open=len(listed), repairs=repairs,
                 vanished=len(plan.vanished), running_jobs=self._tracker.running_jobs_total())
        return repairs

    def _covered(self) -> Collection[str] | None:
        """The accounts this pass listed (None: any, when not known)."""
        if self._accounts is None:
            return None if self._home is None else {self._home}
        return None if "*" in self._accounts else set(self._accounts)

    async def _list_open(self, backup: BackupClient, now: datetime) -> list[BackupJobTypeDef]:
        """The jobs in every open state (of every account listed), listed side by side."""
        selectors: list[str | None] = [*self._accounts] if self._accounts else [None]
        listings = await asyncio.gather(*(
            self._list_state(backup, state, now, account)
            for state in sorted(OPEN_STATES) for account in selectors))
        return [job for jobs in listings for job in jobs]

    @staticmethod
    async def _list_state(backup: BackupClient, state: str, now: datetime,
                          account: str | None) -> list[BackupJobTypeDef]:
        # the core's open states are AWS's own BackupJobState values
        by_state = cast("BackupJobStateType", state)
        paginator = backup.get_paginator("list_backup_jobs")
        pages = (paginator.paginate(ByState=by_state, ByCreatedAfter=now - LOOKBACK)
                 if account is None else
                 paginator.paginate(ByState=by_state, ByCreatedAfter=now - LOOKBACK,
                                    ByAccountId=account))
        return [job async for page in pages for job in page.get("BackupJobs", [])]

    async def _list_ended(self, backup: BackupClient) -> list[BackupJobTypeDef]:
        """The jobs (of every account listed) that ended since the previous pass; none on
        the first pass."""
        since = self._ended_since
        if since is None:
            return []
        paginator = backup.get_paginator("list_backup_jobs")
        selectors: list[str | None] = [*self._accounts] if self._accounts else [None]
        listings = [paginator.paginate(ByCompleteAfter=since) if account is None else
                    paginator.paginate(ByCompleteAfter=since, ByAccountId=account)
                    for account in selectors]
        return [job for pages in listings async for page in pages
                for job in page.get("BackupJobs", [])]

    async def _close(self, backup: BackupClient, job_id: str) -> int:
        if self._accounts is not None:
            return await self._close_listed(backup, job_id)
        try:
            job = await backup.describe_backup_job(BackupJobId=job_id)
        except backup.exceptions.ResourceNotFoundException:
            log.warning("reconcile.job_unknown", job_id=job_id)
            return 0
        self._home = self._home or job.get("AccountId")
        seen_at = self._clock.now()
        return await self._pipeline.apply(job_event(job, self._region, seen_at),
                                          origin="reconcile")

    async def _close_listed(self, backup: BackupClient, job_id: str) -> int:
        """A member account's job the open listing lacks, found by a listing of its account
        and resource since it started (cross-account monitoring has no describe)."""
        tracked = self._tracker.get(job_id)
        if tracked is None:
            return 0
        account = tracked.account if tracked.account and tracked.account.isdigit() else "*"
        paginator = backup.get_paginator("list_backup_jobs")
        since = tracked.started - timedelta(minutes=5)
        pages = (paginator.paginate(ByAccountId=account, ByCreatedAfter=since,
                                    ByResourceArn=tracked.resource_arn)
                 if tracked.resource_arn else
                 paginator.paginate(ByAccountId=account, ByCreatedAfter=since))
        async for page in pages:
            for job in page.get("BackupJobs", []):
                if job["BackupJobId"] == job_id:
                    return await self._pipeline.apply(
                        job_event(job, self._region, self._clock.now()), origin="reconcile")
        log.warning("reconcile.job_unknown", job_id=job_id, account=tracked.account)
        return 0
