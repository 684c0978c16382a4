"""Starting backups and seeing them through: the I/O half of the scheduler.

- `refresh`: list the slot's backups in AWS, delete duplicates a racing replica made
  (keeping the earliest), and follow CREATING native backups nobody follows (restart).
- `start`: one CreateBackup / StartBackupJob (or a dry-run log line).
- following: DescribeBackup with backoff to AVAILABLE, then `BackupCompleted` on the bus
  for the backup the slot keeps: a start call retried after a lost answer can leave two
  backups in one slot, and the later one is deleted as a duplicate, so a completion is
  published only once AWS's listing shows it is the earliest (else the later one goes and
  the earliest is completed or followed instead); a failure or a timeout raises an alert on
  the same path as failed jobs. AWS Backup jobs
  are followed by the event pipeline: its `BackupCompleted` events close them here.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime

import structlog

from daemon.aws.errors import error_code
from daemon.core import arns
from daemon.core.alerts import Alert
from daemon.core.events.tracker import JobTable
from daemon.core.scheduling.admission import Pending
from daemon.core.scheduling.inventory import Listed, retention_status
from daemon.kernel.bus import BackupCompleted, CompletionBus
from daemon.kernel.outbox import AlertOutbox
from daemon.obs.metrics_scheduler import SchedulerMetrics
from daemon.scheduling.discovery import TableCatalog, TableInfo
from daemon.scheduling.engines import NativeEngine, Started
from daemon.scheduling.retention import RetentionRunner
from daemon.scheduling.slots import ScheduleState, SlotRun

log = structlog.get_logger(__name__)
LEDGER_SECONDS = 600.0  # how long a started job counts before the tracker must know it
MAX_JOBS_REMEMBERED = 100_000
MAX_COMPLETED_REMEMBERED = 10_000  # backups completed lately: each is published once
GONE_CODES = frozenset({"TableNotFoundException", "ResourceNotFoundException"})


class Starter:
    """Starts, deduplicates and follows the backups of every schedule."""

    def __init__(self, states: dict[str, ScheduleState], catalog: TableCatalog,
                 retention: RetentionRunner | None, *, tracker: JobTable, bus: CompletionBus,
                 alerts: AlertOutbox, metrics: SchedulerMetrics, follow_timeout_seconds: float,
                 dry_run: bool, region: str) -> None:
        self.states = states
        self.catalog = catalog
        self.retention = retention
        self._stopping = asyncio.Event()  # set while the scheduler is not running
        self._followers: dict[str, asyncio.Task[None]] = {}
        self._following_bytes: dict[str, int] = {}
        self._jobs: dict[str, tuple[str, int, float]] = {}  # job id -> (schedule, size, t)
        self._completed_arns: OrderedDict[str, None] = OrderedDict()
        self._tracker = tracker
        self._bus = bus
        self._alerts = alerts
        self._metrics = metrics
        self._follow_timeout = follow_timeout_seconds
        self._dry_run = dry_run
        self._region = region

    async def refresh(self, state: ScheduleState, run: SlotRun, now: datetime) -> None:
        """Read the slot's backups from AWS; converge duplicates; adopt CREATING ones."""
        since = run.listed_at or run.slot
        listed = await state.engine.existing(state.spec, run.slot, since)
        for extra in run.listed(listed, now):
            await self._delete_duplicate(state, run, extra)
        if isinstance(state.engine, NativeEngine):
            for backup in run.creating():
                self._follow(state, run.slot, backup.arn, backup.table, size=0)

    async def _delete_duplicate(self, state: ScheduleState, run: SlotRun | None,
                                extra: Listed) -> None:
        if not isinstance(state.engine, NativeEngine):
            return  # jobs cannot be deleted; the idempotency token prevents them instead
        if self._dry_run:
            log.info("backup.duplicate_kept_dry_run", schedule=state.spec.name, arn=extra.arn)
            return
        deleted = await state.engine.delete(extra.arn)
        if run is not None and (deleted or extra.status != "CREATING"):
            run.forget(extra.arn)
        if deleted:
            self._metrics.deletion(state.spec.name, "duplicate")
            log.info("backup.duplicate_deleted", schedule=state.spec.name, table=extra.table,
                     arn=extra.arn, slot=None if extra.slot is None else extra.slot.isoformat())
        elif run is not None:
            run.list_again()  # still CREATING: look again next tick

    async def start(self, state: ScheduleState, item: Pending) -> None:
        """Start one backup; a failure leaves it due, so the next tick tries again."""
        run, spec = state.run, state.spec
        if run is None or run.slot != item.slot:
            return
        with structlog.contextvars.bound_contextvars(schedule=spec.name, table=item.table):
            if self._dry_run:
                run.pretend(item.table)
                self._metrics.backup(spec.name, spec.engine, "dry_run")
                log.info("backup.would_start", slot=item.slot.isoformat(), engine=spec.engine)
                return
            run.starting(item.table)
            try:
                started = await state.engine.start(spec, self._table(item.table), item.slot)
            except Exception as exc:
                self._start_failed(run, item, exc)
                return
            finally:
                run.start_ended(item.table)
            self._started(state, run, started, item.size_bytes)

    def _table(self, name: str) -> TableInfo:
        return self.catalog.get(name) or TableInfo(name)

    def _start_failed(self, run: SlotRun, item: Pending, exc: Exception) -> None:
        code = error_code(exc)
        if code in GONE_CODES:
            run.table_gone(item.table)
            log.info("backup.table_gone", code=code)
            return
        run.count("start_errors")
        log.warning("backup.start_failed", code=code, error=str(exc))

    def _started(self, state: ScheduleState, run: SlotRun, started: Started, size: int) -> None:
        spec = state.spec
        run.started(Listed(started.table, started.arn, started.created, started.status,
                           spec.name, run.slot))
        self._metrics.backup(spec.name, spec.engine, "started")
        log.info("backup.started", slot=run.slot.isoformat(), arn=started.arn,
                 status=started.status, engine=spec.engine)
        if started.job_id is not None:
            self._jobs[started.job_id] = (spec.name, size, self._clock())
            if len(self._jobs) > MAX_JOBS_REMEMBERED:
                self._jobs.pop(next(iter(self._jobs)))
        else:
            self._follow(state, run.slot, started.arn, started.table, size,
                         available=started.status == "AVAILABLE")

    def _follow(self, state: ScheduleState, slot: datetime, arn: str, table: str,
                size: int, *, available: bool = False) -> None:
        if arn in self._followers:
            return
        self._following_bytes[arn] = size
        task = asyncio.get_running_loop().create_task(
            self._follow_one(state, slot, arn, table, size, available=available),
            name=f"follow:{arn}")
        self._followers[arn] = task

    async def _follow_one(self, state: ScheduleState, slot: datetime, arn: str, table: str,
                          size: int, *, available: bool) -> None:
        engine = state.engine
        assert isinstance(engine, NativeEngine)
        try:
            result = "AVAILABLE" if available else await engine.follow(
                arn, self._stopping, self._follow_timeout)
            if result == "AVAILABLE":
                await self._settle(state, engine, slot, Listed(
                    table, arn, slot, "AVAILABLE", state.spec.name, slot), size)
        finally:
            self._followers.pop(arn, None)
            self._following_bytes.pop(arn, None)
        if result not in ("AVAILABLE", "STOPPED"):
            self._failed(state, slot, arn, table, result)

    async def _settle(self, state: ScheduleState, engine: NativeEngine, slot: datetime,
                      done: Listed, size: int) -> None:
        """`done` is AVAILABLE: complete it if the slot keeps it; if an earlier backup of the
        table exists, delete `done` as the duplicate and complete (or follow) the earlier one."""
        try:
            kept = await engine.kept(state.spec, slot, done.table)
        except Exception as exc:  # unconfirmed: complete it; a later listing still converges
            log.warning("backup.keep_check_failed", schedule=state.spec.name, table=done.table,
                        arn=done.arn, code=error_code(exc), error=str(exc))
            kept = None
        if kept is None or kept.arn == done.arn:
            self._completed(state, slot, done.arn, done.table, size)
            return
        log.info("backup.completed_duplicate", schedule=state.spec.name, table=done.table,
                 arn=done.arn, kept=kept.arn, slot=slot.isoformat())
        run = state.run if state.run is not None and state.run.slot == slot else None
        try:
            await self._delete_duplicate(state, run, done)
        except Exception as exc:  # the next listing of the slot deletes it
            log.warning("backup.duplicate_delete_failed", schedule=state.spec.name,
                        table=done.table, arn=done.arn, code=error_code(exc))
        if retention_status(kept.status) == "AVAILABLE":
            self._completed(state, slot, kept.arn, kept.table, size)
        elif retention_status(kept.status) == "CREATING":
            self._follow(state, slot, kept.arn, kept.table, size)

    def _completed(self, state: ScheduleState, slot: datetime, arn: str, table: str,
                   size: int) -> None:
        if arn in self._completed_arns:
            return  # completed (and published) once already
        self._completed_arns[arn] = None
        if len(self._completed_arns) > MAX_COMPLETED_REMEMBERED:
            self._completed_arns.popitem(last=False)
        spec = state.spec
        self._metrics.backup(spec.name, spec.engine, "completed")
        self._metrics.last_success(spec.name, slot.timestamp())
        state.count(slot, "completed")
        log.info("backup.completed", schedule=spec.name, table=table, arn=arn)
        if spec.engine == "dynamodb":  # a member's table ARN names its account (readers decide)
            self._bus.publish(BackupCompleted(
                recovery_point_arn=arn, resource_arn=arns.table_arn(arn) or arn,
                resource_type="DynamoDB", created=slot, origin="scheduler",
                region=self._region, size_bytes=size or None))

    def _failed(self, state: ScheduleState, slot: datetime, arn: str, table: str,
                result: str) -> None:
        spec = state.spec
        self._metrics.backup(spec.name, spec.engine, "failed")
        state.count(slot, "failed")
        log.error("backup.failed", schedule=spec.name, table=table, arn=arn, result=result)
        self._alerts.submit(Alert(
            "critical", "backup_failed",
            f"Backup {result.lower()}: {table} ({self._metrics.label(spec.name)}, "
            f"slot {slot:%Y-%m-%d %H:%M} UTC)",
            {"schedule": self._metrics.label(spec.name), "table": table, "backup_arn": arn, "result": result,
             "slot": slot.isoformat(), "engine": spec.engine}))

    async def on_completed(self, item: BackupCompleted) -> None:
        """An AWS Backup job we started completed (seen by the event pipeline)."""
        entry = self._jobs.pop(item.job_id or "", None)
        if entry is None:
            return
        state = self.states.get(entry[0])
        if state is not None:
            slot = state.expression.at_or_before(item.created) or item.created
            self._completed(state, slot, item.recovery_point_arn,
                            arns.table_name(item.resource_arn) or item.resource_arn, entry[1])

    def running_bytes(self) -> int:
        """Bytes backing up now: the tracker's, plus ours it cannot know of yet."""
        tracker = self._tracker
        horizon = self._clock() - LEDGER_SECONDS
        unseen = sum(size for job_id, (_, size, t) in self._jobs.items()
                     if t >= horizon and tracker.get(job_id) is None)
        return tracker.running_bytes_total() + unseen + sum(self._following_bytes.values())

    def maybe_request_retention(self, state: ScheduleState, run: SlotRun) -> None:
        """Once every selected table of the slot is done and settled, prune (like the old
        Lambda did right after its backups)."""
        if run.retention_requested or run.pending or run.in_flight or self.retention is None:
            return
        if any(arn in self._followers for arn in run.backups):
            return
        if run.request_retention():
            self.retention.request(state.spec.name)

    def _clock(self) -> float:
        return asyncio.get_running_loop().time()

    def open(self) -> None:
        """The scheduler runs (at start, and on every new term as leader)."""
        self._stopping.clear()

    async def close(self) -> None:
        """The scheduler stopped: end the followers (a backup still CREATING is adopted
        again from AWS by the next listing) and wait for them."""
        self._stopping.set()
        await self.drain()

    async def drain(self) -> None:
        """Wait for the followers to end."""
        if self._followers:
            await asyncio.gather(*self._followers.values(), return_exceptions=True)
