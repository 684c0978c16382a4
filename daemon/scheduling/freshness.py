"""Freshness: each table's newest good backup, read from AWS at start and kept moving after.

The daemon remembers nothing across a restart, so at start (and on each new leader) `seed`
lists the good backups of the lookback window: native ones with ListBackups, AWS Backup's
with ListBackupJobs (COMPLETED, DynamoDB), both paginated, through the freshness reads' own
rate limit. Once discovery has listed the tables too, the component reports ready: until then
/readyz names it (a seed that keeps failing makes it ready with the cause as a note, and keeps
retrying). The same listing seeds each schedule's last success, so
`backupd_schedule_last_success_timestamp_seconds` exists right after a restart.

After the seed, every completion on the bus (the scheduler's native backups, the AWS Backup
jobs the event pipeline saw) moves its table forward at once, and every `refresh_seconds` a
listing from the previous one on catches backups nothing announced.

One tracker watches one account: the daemon's own (its schedules without `accounts`), or a
member account (its schedules listing it, through that account's role: `wire.py`), whose
schedules are named `<schedule>@<account>` in the report, the metrics, CloudWatch and
`/status` (`member_freshness`). A completion counts only for the tracker of the account its
table ARN names. A member's tracker does not hold /readyz back: its role may fail for long.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog

from daemon.aws.backups import list_native_backups
from daemon.aws.errors import error_code, permanent
from daemon.aws.throttle import Throttle
from daemon.config.freshness import FreshnessSettings
from daemon.config.schedules import ScheduleSpec
from daemon.core import arns
from daemon.core.clock import Clock, aware_time
from daemon.core.scheduling.freshness import (
    FreshnessReport,
    JobOwner,
    NewestBackups,
    ScheduleFreshness,
    TableAge,
    assess,
    job_owner,
    lookback,
    newest_good,
    newest_slots,
)
from daemon.core.scheduling.inventory import Listed
from daemon.core.scheduling.planner import Selector
from daemon.core.scheduling.schedule import expected_interval_seconds
from daemon.kernel.bus import BackupCompleted, CompletionBus
from daemon.kernel.datums import Datum, datum
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import backoff_delay, sleep_or_stop
from daemon.obs.metrics_freshness import FreshnessMetrics
from daemon.obs.metrics_scheduler import SchedulerMetrics
from daemon.scheduling.discovery import TableCatalog

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_cloudwatch.type_defs import DimensionTypeDef
    from types_aiobotocore_dynamodb.client import DynamoDBClient

    from daemon.aws.session import Connect

log = structlog.get_logger(__name__)
SEED_ATTEMPTS = 3  # failed seeds before /readyz stops waiting for it (it keeps retrying)
CATALOG_WAIT_SECONDS = 300.0
VIEW_MAX_AGE = timedelta(seconds=10)
REFRESH_MARGIN = timedelta(hours=1)  # a backup listed CREATING is listed again once AVAILABLE
JOBS_PAGE = 1000
OLDEST_AGE_DATUM, LATE_DATUM = "OldestBackupAgeSeconds", "LateTables"


@dataclass(frozen=True, slots=True)
class Watched:
    """A schedule as freshness sees it: which tables, and how often they should be backed up."""

    name: str
    selector: Selector
    interval_seconds: float


class FreshnessTracker:
    """The newest good backup of every table, and each schedule's freshness from it."""

    name = "freshness"

    def __init__(self, settings: FreshnessSettings, schedules: Sequence[ScheduleSpec], *,
                 prefix: str, region: str, dynamodb: Connect[DynamoDBClient],
                 backup: Connect[BackupClient], throttle: Throttle,
                 catalog: TableCatalog, metrics: FreshnessMetrics,
                 scheduler_metrics: SchedulerMetrics, board: StatusBoard, bus: CompletionBus,
                 clock: Clock, per_table: bool = True, rpo_seconds: float | None = None,
                 leading: Callable[[], bool] = lambda: True, account: str | None = None,
                 ) -> None:
        self._settings = settings
        self._prefix = prefix
        self._region = region
        self._dynamodb = dynamodb
        self._backup = backup
        self._throttle = throttle
        self._catalog = catalog
        self._scheduler_metrics = scheduler_metrics
        self._clock = clock
        self.account = account  # a member's; None: the own (its tables' ARNs name it)
        self.members: list[FreshnessTracker] = []  # the own one's: member accounts' trackers
        now = clock.now()
        self._names = tuple(s.name for s in schedules)
        self.watched = [Watched(scheduler_metrics.label(s.name), s.selector(),
                                expected_interval_seconds(s.parsed(), now))
                        for s in schedules]
        self._owners = [JobOwner(s.name, s.iam_role_arn, s.backup_vault, s.parsed())
                        for s in schedules if s.engine == "aws-backup"]
        self.lookback = lookback((w.interval_seconds for w in self.watched),
                                 settings.late_factor, rpo_seconds)
        self.book = NewestBackups()
        self.horizon: datetime | None = None  # no listing found a backup of a table since
        self.seeded = asyncio.Event()
        self.seeded_at: datetime | None = None
        self._covered_until: datetime | None = None  # listings cover [horizon, this]
        self._full_listing_done = False
        self._seed_seconds: float | None = None
        self._selection: dict[str, tuple[str, ...]] = {}
        self._selection_version = -1
        self._view: FreshnessReport | None = None
        self._view_key = (-1, -1)
        bus.subscribe(self._on_completed)
        self._board = board
        if account is None:
            board.add("freshness", self.status)
            board.set_health(self.name, False, "seeding freshness from AWS")
        metrics.watch(self.report, per_table=per_table, enabled=leading)

    async def run(self, stop: asyncio.Event) -> None:
        """Seed (again: this replica may have just become leader), then keep it fresh. When
        it stops leading, what it knew is no longer reported (it would go stale)."""
        self.seeded.clear()
        self._full_listing_done = False
        self._health(False, "seeding freshness from AWS")
        try:
            if not await self._seed_until_done(stop):
                return
            while not await sleep_or_stop(self._settings.refresh_seconds, stop):
                try:
                    await self.refresh()
                except Exception as exc:
                    log.warning("freshness.refresh_failed", error=str(exc), code=error_code(exc))
        finally:
            self.seeded.clear()

    async def _seed_until_done(self, stop: asyncio.Event) -> bool:
        attempt = 0
        while not stop.is_set():
            try:
                if not await self.seed(stop):
                    return False
            except Exception as exc:
                attempt += 1
                code = error_code(exc) or type(exc).__name__
                log.warning("freshness.seed_failed", attempt=attempt, error=str(exc), code=code)
                if attempt >= SEED_ATTEMPTS or permanent(exc):
                    self._health(True, f"freshness not seeded, retrying: {code}: {exc}")
                if await sleep_or_stop(backoff_delay(attempt, base=2.0, cap=60.0), stop):
                    return False
                continue
            self._health(True)
            return True
        return False

    def _health(self, ready: bool, detail: str | None = None) -> None:
        """The own account's readiness (a member's tracker reports none)."""
        if self.account is None:
            self._board.set_health(self.name, ready, detail)

    async def seed(self, stop: asyncio.Event | None = None) -> bool:
        """List the lookback window's good backups, wait for the table list, and be seeded
        (False: stopped first)."""
        started = asyncio.get_running_loop().time()
        if not self._full_listing_done:
            now = self._clock.now()
            horizon = now - self.lookback
            moved = await self._list_and_absorb(horizon, now)
            self._full_listing_done = True
            log.info("freshness.listed", since=horizon.isoformat(), tables_moved=moved,
                     tables_with_backup=len(self.book))
        if not await self._wait_for_tables(stop or asyncio.Event()):
            return False
        self.seeded_at = self._clock.now()
        self._seed_seconds = asyncio.get_running_loop().time() - started
        self.seeded.set()
        report = self.report()
        log.info("freshness.seeded", seconds=round(self._seed_seconds, 3),
                 tables=len(self._catalog.tables), tables_with_backup=len(self.book),
                 late=sum(s.late for s in report.schedules) if report else 0)
        return True

    async def refresh(self) -> int:
        """List what was made since the previous listing (with a margin); tables moved."""
        if self._covered_until is None:
            return 0
        now = self._clock.now()
        return await self._list_and_absorb(self._covered_until - REFRESH_MARGIN, now)

    async def _list_and_absorb(self, since: datetime, now: datetime) -> int:
        ddb = await self._dynamodb()
        backup = await self._backup()
        native, jobs = await asyncio.gather(
            list_native_backups(ddb, self._throttle, prefix=self._prefix,
                                schedules=self._names, since=since),
            self._completed_jobs(backup, since))
        listed = [*native, *jobs]
        moved = self.book.merge(newest_good(listed, since))
        for schedule, slot in newest_slots(listed).items():
            self._scheduler_metrics.last_success(schedule, slot.timestamp())
        # The listings chain without a gap while each starts before the previous one ended;
        # then "no backup since the horizon" still holds, else it starts again here.
        if self._covered_until is None or since > self._covered_until or self.horizon is None:
            self.horizon = since
        self._covered_until = now
        return moved

    async def _completed_jobs(self, backup: Any, since: datetime) -> list[Listed]:
        """ListBackupJobs: DynamoDB jobs COMPLETED since `since`, as listed backups."""
        kwargs: dict[str, Any] = {"ByState": "COMPLETED", "ByResourceType": "DynamoDB",
                                  "ByCompleteAfter": since, "MaxResults": JOBS_PAGE}
        found: list[Listed] = []
        while True:
            page = await self._throttle.call(backup.list_backup_jobs, **kwargs)
            found.extend(self._job(job) for job in page.get("BackupJobs", []))
            token = page.get("NextToken")
            if not token:
                return [item for item in found if item.table]
            kwargs["NextToken"] = token

    def _job(self, job: dict[str, Any]) -> Listed:
        created = aware_time(job["CreationDate"])
        owner = job_owner(self._owners, role_arn=job.get("IamRoleArn"),
                          vault=job.get("BackupVaultName"), by_plan=bool(job.get("CreatedBy")),
                          created=created)
        return Listed(arns.table_name(job.get("ResourceArn")) or "",
                      job.get("RecoveryPointArn") or job["BackupJobId"], created, "COMPLETED",
                      *(owner or (None, None)))

    async def _wait_for_tables(self, stop: asyncio.Event) -> bool:
        """Discovery's first ListTables (names only; details may take long on big estates);
        False when stopped first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CATALOG_WAIT_SECONDS
        while not self._catalog.listed.is_set():
            if loop.time() > deadline:
                raise TimeoutError("table discovery has not listed the tables yet")
            if await sleep_or_stop(0.05, stop):
                return False
        return True

    async def _on_completed(self, item: BackupCompleted) -> None:
        """A completion seen by the scheduler or the event pipeline: the table is fresh now."""
        table = arns.table_name(item.resource_arn)
        if table is None or item.region not in (None, self._region):
            return
        if not self._is_ours(table, item.resource_arn):  # a member's table of that name
            return
        if self.book.record(table, item.created):
            log.debug("freshness.moved", table=table, at=item.created.isoformat(),
                      origin=item.origin)

    def _is_ours(self, table: str, resource_arn: str) -> bool:
        """Whether `resource_arn` is a table of the watched account (events and member
        schedules' completions come from a whole Organization: another account's table of
        the same name is not this one)."""
        theirs = arns.parse(resource_arn)
        if theirs is None:
            return True
        account = self.account or self._own_account(table)
        return account is None or account == theirs.account

    def _own_account(self, table: str) -> str | None:
        """The own account, as the ARNs of discovered tables name it (that table's first)."""
        known = self._catalog.tables.get(table)
        candidates = [known] if known is not None else []
        candidates += list(self._catalog.tables.values())[:1]
        for info in candidates:
            parsed = arns.parse(info.arn) if info.arn else None
            if parsed is not None:
                return parsed.account
        return None

    def selection(self) -> dict[str, tuple[str, ...]]:
        """Each schedule's tables, as discovery knows them now (re-selected when it changed)."""
        if self._catalog.version != self._selection_version:
            tables = list(self._catalog.tables.values())
            self._selection = {w.name: tuple(sorted(t.name for t in tables
                                                    if w.selector.selects(t.name, t.tags)))
                               for w in self.watched}
            self._selection_version = self._catalog.version
        return self._selection

    def report(self) -> FreshnessReport | None:
        """Every schedule's freshness now (recomputed at most every VIEW_MAX_AGE, or when
        the tables or a backup changed); None until seeded."""
        if not self.seeded.is_set() or self.horizon is None:
            return None
        now = self._clock.now()
        key = (self._catalog.version, self.book.version)
        view = self._view
        if view is not None and key == self._view_key and (
                timedelta(0) <= now - view.at < VIEW_MAX_AGE):
            return view
        selection = self.selection()
        created = {name: info.created for name, info in self._catalog.tables.items()}
        summaries: list[ScheduleFreshness] = []
        ages: dict[str, list[TableAge]] = {}
        for watched in self.watched:
            summary, ages[watched.name] = assess(
                watched.name, watched.interval_seconds, selection.get(watched.name, ()),
                self.book, created, horizon=self.horizon, now=now,
                late_factor=self._settings.late_factor)
            summaries.append(summary)
        self._view, self._view_key = FreshnessReport(now, tuple(summaries), ages), key
        return self._view

    def schedule_datums(self, now: datetime) -> list[Datum]:
        """CloudWatch: per schedule OldestBackupAgeSeconds and LateTables; nothing before the
        seed."""
        report = self.report()
        if report is None:
            return []
        out: list[Datum] = []
        for item in report.schedules:
            dims: list[DimensionTypeDef] = [{"Name": "Schedule", "Value": item.schedule}]
            out.append(datum(OLDEST_AGE_DATUM, item.oldest.age_seconds if item.oldest else 0.0,
                             "Seconds", now, dims))
            out.append(datum(LATE_DATUM, item.late, "Count", now, dims))
        return out

    def datums(self, now: datetime) -> list[Datum]:
        """The own account's tracker: its schedules' datums and its `members'` (member
        accounts' trackers), and LateTables over all of them (no dimension: an alarm needs
        no metric math); nothing before its seed."""
        report = self.report()
        if report is None:
            return []
        trackers = [self, *self.members]
        late = sum(s.late for r in (t.report() for t in trackers) if r is not None
                   for s in r.schedules)
        return [*(d for t in trackers for d in t.schedule_datums(now)),
                datum(LATE_DATUM, late, "Count", now)]

    def status(self) -> dict[str, Any]:
        """The `/status` section `freshness` (bounded: SAMPLE late tables per schedule)."""
        report = self.report()
        return {
            "seeded": self.seeded.is_set(), "seeded_at": iso(self.seeded_at),
            "seed_seconds": None if self._seed_seconds is None else round(self._seed_seconds, 3),
            "window_start": iso(self.horizon), "listed_until": iso(self._covered_until),
            "lookback_seconds": self.lookback.total_seconds(),
            "late_factor": self._settings.late_factor,
            "tables_with_backup": len(self.book),
            "schedules": {} if report is None else {
                s.schedule: schedule_json(s) for s in report.schedules},
        }


def schedule_json(item: ScheduleFreshness) -> dict[str, Any]:
    return {"interval_seconds": item.interval_seconds, "tables": item.tables,
            "late": item.late, "without_backup": item.without_backup,
            "oldest": None if item.oldest is None else age_json(item.oldest),
            "late_tables": [age_json(a) for a in item.late_tables]}


def age_json(age: TableAge) -> dict[str, Any]:
    return {"table": age.table, "last_backup": iso(age.last_backup), "since": iso(age.since),
            "age_seconds": round(age.age_seconds, 1)}


def iso(moment: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, to the second."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
