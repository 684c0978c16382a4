"""Retention, the thin deleter: list what AWS holds, let the pure selection decide, delete.

- `dynamodb` schedules: one paginated ListBackups for all of them; the daemon's backups are
  recognised by name; deletion is DeleteBackup.
- `aws-backup` schedules: when keep_days is the only rule, AWS Backup's lifecycle
  (`DeleteAfterDays`, set at StartBackupJob) does it all and nothing runs here. With other
  rules, the vault's recovery points are listed, the daemon's own recognised by their tags
  (cached: they never change), and pruned with DeleteRecoveryPoint; keep_days then counts
  as one more keep rule (a lifecycle would undo a weekly or monthly rule).

Runs every `retention_interval_seconds`, and sooner when the scheduler finishes a slot.
`settings.dry_run` logs and counts what would be deleted, and deletes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import structlog

from daemon.aws.errors import error_code
from daemon.aws.throttle import Throttle
from daemon.config.schedules import SchedulerSettings, ScheduleSpec
from daemon.core import arns
from daemon.core.clock import Clock
from daemon.core.scheduling.inventory import (
    Listed,
    duplicates,
    records_for,
    retention_status,
    tagged_owner,
)
from daemon.core.scheduling.retention import Decision, select
from daemon.kernel.supervisor import sleep_or_stop
from daemon.obs.metrics_scheduler import SchedulerMetrics
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.engines import NativeEngine

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_backup.type_defs import ListRecoveryPointsByBackupVaultInputTypeDef

    from daemon.aws.session import Connect

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class TablePlan:
    """Retention's decisions for one table of one schedule."""

    spec: ScheduleSpec
    table: str
    decisions: list[Decision]

    @property
    def deletions(self) -> list[Decision]:
        return [d for d in self.decisions if d.action == "delete"]


class RetentionRunner:
    """Applies every schedule's retention policy to the backups AWS lists."""

    name = "retention"

    def __init__(self, catalog: TableCatalog, throttle: Throttle, native: NativeEngine, *,
                 backup: Connect[BackupClient], schedules: Sequence[ScheduleSpec],
                 cfg: SchedulerSettings, dry_run: bool, metrics: SchedulerMetrics,
                 clock: Clock) -> None:
        self.catalog = catalog
        self.throttle = throttle
        self.native = native
        self._backup = backup
        self._schedules = schedules
        self._cfg = cfg
        self._dry_run = dry_run
        self._metrics = metrics
        self._clock = clock
        self._wake = asyncio.Event()
        self._tags: dict[str, dict[str, str]] = {}

    def request(self, schedule: str) -> None:
        """Ask for a pass soon (the scheduler finished a slot of `schedule`)."""
        log.debug("retention.requested", schedule=schedule)
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        interval = self._cfg.retention_interval_seconds
        while not self.catalog.refreshed.is_set():
            if await sleep_or_stop(1.0, stop):
                return
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.run_once(self._clock.now())
            except Exception:
                log.exception("retention.pass_failed")
            if await self._wait(interval, stop):
                return

    async def _wait(self, seconds: float, stop: asyncio.Event) -> bool:
        """Sleep until the interval passes, a pass is requested, or stop; True if stopped."""
        waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())}
        try:
            await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            await asyncio.gather(*waiters, return_exceptions=True)
        return stop.is_set()

    async def run_once(self, now: datetime) -> list[TablePlan]:
        """One pass: plan every schedule, then delete what the plans say."""
        plans = await self.plan(now)
        by_schedule: dict[str, list[TablePlan]] = {}
        for plan in plans:
            by_schedule.setdefault(plan.spec.name, []).append(plan)
        for name, group in by_schedule.items():
            with structlog.contextvars.bound_contextvars(schedule=name):
                await self._apply(group)
        return plans

    async def plan(self, now: datetime) -> list[TablePlan]:
        """Decisions for every table of every schedule that has retention rules."""
        specs = [s for s in self._schedules if s.enabled and s.retention.has_rules()]
        native = [s for s in specs if s.engine == "dynamodb"]
        vaulted = [s for s in specs if s.engine == "aws-backup" and not s.retention.only_keep_days()]
        plans: list[TablePlan] = []
        if native:
            listed = await self.native.list_backups()
            plans += [p for s in native for p in self._plan_one(s, listed, now)]
        seen: set[str] = set()
        for spec in vaulted:
            listed = await self._recovery_points(spec)
            seen.update(item.arn for item in listed)
            plans += self._plan_one(spec, listed, now)
        if vaulted:  # forget tags of recovery points AWS no longer lists (lifecycle expiry)
            self._tags = {arn: tags for arn, tags in self._tags.items() if arn in seen}
        return plans

    def _plan_one(self, spec: ScheduleSpec, listed: list[Listed], now: datetime,
                  ) -> list[TablePlan]:
        selector = spec.selector()
        selected = {t.name for t in self.catalog.tables.values() if selector.selects(t.name, t.tags)}
        # A slot's duplicates (a retried CreateBackup whose answer was lost, a late request, a
        # racing replica) must not count towards the policy, or one would push out a backup
        # the policy keeps: decide on one backup per slot, and delete the extras outright.
        extra = {i.arn: i for i in duplicates(listed)
                 if i.schedule == spec.name and retention_status(i.status) == "AVAILABLE"}
        per_table = records_for(spec.name, [i for i in listed if i.arn not in extra], selected,
                                spec.retention.adopt_existing)
        budget = self._cfg.max_deletes_per_run
        plans: list[TablePlan] = []
        for table in sorted(per_table):
            decisions = select(per_table[table], spec.retention, now, ZoneInfo(spec.timezone),
                               max_deletes=budget)
            decisions += [Decision(i.arn, "delete", ("duplicate",), i.slot or i.created)
                          for i in extra.values() if i.table == table]
            plan = TablePlan(spec, table, decisions)
            budget -= len(plan.deletions)
            plans.append(plan)
        return plans

    async def _recovery_points(self, spec: ScheduleSpec) -> list[Listed]:
        """The vault's DynamoDB recovery points, owned ones recognised by their tags."""
        backup = await self._backup()
        kwargs: ListRecoveryPointsByBackupVaultInputTypeDef = {
            "BackupVaultName": spec.vault_and_role()[0], "ByResourceType": "DynamoDB"}
        found: list[Listed] = []
        while True:
            page = await self.throttle.call(backup.list_recovery_points_by_backup_vault, **kwargs)
            for point in page.get("RecoveryPoints", []):
                owner = tagged_owner(await self._tags_of(backup, point["RecoveryPointArn"]))
                found.append(Listed(
                    arns.table_name(point["ResourceArn"]) or point["ResourceArn"],
                    point["RecoveryPointArn"],
                    point["CreationDate"], point.get("Status", "COMPLETED"),
                    *(owner or (None, None))))
            token = page.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    async def _tags_of(self, backup: BackupClient, arn: str) -> dict[str, str]:
        if arn not in self._tags:
            out = await self.throttle.call(backup.list_tags, ResourceArn=arn)
            self._tags[arn] = dict(out.get("Tags") or {})
        return self._tags[arn]

    async def _apply(self, plans: list[TablePlan]) -> None:
        spec = plans[0].spec
        doomed = [(plan, d) for plan in plans for d in plan.deletions]
        outcomes = {"deleted": 0, "failed": 0, "dry_run": 0}
        for plan, decision in doomed:
            outcome = await self._delete(spec, plan.table, decision)
            outcomes[outcome] += 1
            self._metrics.deletion(spec.name, outcome)
        log.info("retention.applied", tables=len(plans), backups=sum(len(p.decisions) for p in plans),
                 **outcomes)

    async def _delete(self, spec: ScheduleSpec, table: str, decision: Decision) -> str:
        if self._dry_run:
            log.info("retention.would_delete", table=table, arn=decision.arn,
                     created=decision.created.isoformat())
            return "dry_run"
        try:
            if spec.engine == "dynamodb":
                if not await self.native.delete(decision.arn):
                    log.warning("retention.not_deleted", table=table, arn=decision.arn,
                                reason="gone or in use")
                    return "failed"
            else:
                backup = await self._backup()
                await self.throttle.call(backup.delete_recovery_point,
                                         BackupVaultName=spec.vault_and_role()[0],
                                         RecoveryPointArn=decision.arn)
        except Exception as exc:
            log.warning("retention.delete_failed", table=table, arn=decision.arn,
                        code=error_code(exc), error=str(exc))
            return "failed"
        self._tags.pop(decision.arn, None)
        log.info("retention.deleted", table=table, arn=decision.arn,
                 created=decision.created.isoformat(), reasons=list(decision.reasons))
        return "deleted"

