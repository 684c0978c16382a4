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

Which accounts a pass covers is the `JobSources`' choice (`daemon/events/listers.py`): the
daemon's own (the default; which account that is, is learned from the `AccountId` AWS
returns, and jobs of other accounts are left alone), the Organization's through cross-account
monitoring (`organization.enabled`), or each account of `accounts:` through its role
(`organization.role_arn_template` without an Organization). An account that cannot be listed
(its role refused, its listing failed) is skipped for the pass, logged and shown in
`/status`, and its tracked jobs are left as they are: not being listed is not having ended.
The pass fails only when no account could be listed. Jobs of accounts not served here
(`accounts:`) are skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

import structlog

from daemon.core.clock import Clock
from daemon.core.events.decode import OPEN_STATES, JobEvent
from daemon.core.events.tracker import JobTable
from daemon.events.listers import JobSources, Lister
from daemon.events.pipeline import Pipeline
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import repeat, sleep_or_stop
from daemon.obs.metrics import EventMetrics

if TYPE_CHECKING:
    from types_aiobotocore_backup.literals import BackupJobStateType
    from types_aiobotocore_backup.type_defs import (
        BackupJobTypeDef,
        DescribeBackupJobOutputTypeDef,
        ListBackupJobsInputPaginateTypeDef,
    )

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

    def __init__(self, sources: JobSources, pipeline: Pipeline, tracker: JobTable, *,
                 region: str, interval_seconds: float, metrics: EventMetrics,
                 board: StatusBoard, clock: Clock) -> None:
        self._sources = sources
        self._home: str | None = None  # the caller's account, once AWS has named it
        self._pipeline = pipeline
        self._tracker = tracker
        self._region = region
        self._interval = interval_seconds
        self._metrics = metrics
        self._board = board
        self._clock = clock
        self.last_success: datetime | None = None
        self.last_pass: dict[str, str] = {}  # account -> "ok", or why it was skipped
        self._passed_at: float | None = None  # loop time of the last successful pass
        self._first_pass: datetime | None = None
        self._ended_since: datetime | None = None  # list jobs ended after this (None: don't)
        board.set_health("reconciler", False, "first reconcile not done yet")
        board.add("reconcile", lambda: {
            "last_success": self.last_success, "mode": sources.mode,
            "accounts": sources.accounts if sources.accounts is not None else "own",
            "last_pass": dict(self.last_pass)})

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
        now = self._clock.now()
        listers, open_jobs, ended_jobs, skipped = await self._list(now)
        listed = [job_event(j, self._region, now) for j in open_jobs]
        ended = [job_event(j, self._region, now) for j in ended_jobs]
        repairs = 0
        for event in ended:  # first: a tracked job that ended needs no DescribeBackupJob
            if self._pipeline.serves(event):
                repairs += await self._pipeline.apply(event, origin="reconcile")
        listed = [event for event in listed if self._pipeline.serves(event)]
        plan = self._tracker.diff(listed, region=self._region, accounts=self._covered(listers))
        for event in plan.upserts:
            repairs += await self._pipeline.apply(event, origin="reconcile")
        for job_id in plan.vanished:
            repairs += await self._close(listers, job_id)
        await self._pipeline.settle()  # sizes of the jobs just learned, before "ready"
        self.last_success, self._passed_at = now, asyncio.get_running_loop().time()
        self.last_pass = {**{self._named(lister): "ok" for lister in listers}, **skipped}
        # the next pass lists jobs ended since this one, one period earlier in case AWS lists
        # an end late or its clock is behind ours, but never before the first pass
        self._first_pass = self._first_pass or now
        self._ended_since = max(now - timedelta(seconds=self._interval), self._first_pass)
        self._metrics.reconciled(True, repairs, now.timestamp())
        self._board.set_health("reconciler", True)
        log.info("reconcile.done", listed_open=len(listed), repairs=repairs,
                 vanished=len(plan.vanished), running_jobs=self._tracker.running_jobs_total(),
                 accounts=len(listers), skipped=sorted(skipped))
        return repairs

    async def _list(self, now: datetime) -> tuple[
            list[Lister], list[BackupJobTypeDef], list[BackupJobTypeDef], dict[str, str]]:
        """Every account's open and ended jobs, listed side by side: (the listers that
        answered, open jobs, ended jobs, skipped accounts with the reason)."""
        listing = await self._sources.listing()
        results = await asyncio.gather(*(self._list_one(lister, now)
                                         for lister in listing.listers))
        listers, open_jobs, ended_jobs = [], [], []
        skipped, errors = dict(listing.skipped), []
        for lister, result in zip(listing.listers, results, strict=True):
            if isinstance(result, Exception):
                errors.append(result)
                skipped[self._named(lister)] = f"ListBackupJobs failed: {result}"
                continue
            listers.append(lister)
            open_jobs += result[0]
            ended_jobs += result[1]
            if lister.account is None and self._home is None:
                self._home = next((j["AccountId"] for j in [*result[0], *result[1]]
                                   if j.get("AccountId")), None)
        if not listers:  # the pass fails (and is retried), naming why
            if len(errors) == 1 and not listing.skipped:
                raise errors[0]  # one account (the usual case): its own error
            raise RuntimeError("no account could be listed: " + "; ".join(
                f"{account}: {reason}" for account, reason in sorted(skipped.items())))
        for account, reason in skipped.items():
            log.warning("reconcile.account_skipped", account=account, reason=reason)
        return listers, open_jobs, ended_jobs, skipped

    async def _list_one(self, lister: Lister, now: datetime) -> tuple[
            list[BackupJobTypeDef], list[BackupJobTypeDef]] | Exception:
        """One account's jobs in every open state, and those ended since the previous pass
        (none on the first), listed side by side; the error when its listing fails."""
        # the core's open states are AWS's own BackupJobState values
        queries: list[ListBackupJobsInputPaginateTypeDef] = [
            {"ByState": cast("BackupJobStateType", state), "ByCreatedAfter": now - LOOKBACK}
            for state in sorted(OPEN_STATES)]
        if self._ended_since is not None:
            queries.append({"ByCompleteAfter": self._ended_since})
        try:
            listings = await asyncio.gather(*(lister.jobs(query) for query in queries))
        except Exception as exc:
            return exc
        ended = listings.pop() if self._ended_since is not None else []
        return [job for jobs in listings for job in jobs], ended

    def _covered(self, listers: list[Lister]) -> Collection[str] | None:
        """The accounts this pass listed (None: any, when not known)."""
        covered: set[str] = set()
        for lister in listers:
            account = lister.account or self._home  # the caller's, once AWS has named it
            if account is None or account == "*":
                return None
            covered.add(account)
        return covered

    def _named(self, lister: Lister) -> str:
        """The account a lister lists, as `/status` and the logs name it."""
        return lister.account or self._home or "own"

    async def _close(self, listers: list[Lister], job_id: str) -> int:
        """A tracked job the open listing lacks: how it ended, in its own account."""
        tracked = self._tracker.get(job_id)
        if tracked is None:
            return 0
        lister = next((found for each in listers
                       if (found := each.of(tracked.account)) is not None), None)
        job = await lister.find(tracked) if lister is not None else None
        if lister is None or job is None:
            log.warning("reconcile.job_unknown", job_id=job_id, account=tracked.account)
            return 0
        if lister.account is None:
            self._home = self._home or job.get("AccountId")
        return await self._pipeline.apply(job_event(job, self._region, self._clock.now()),
                                          origin="reconcile")
