"""Wiring of the scheduling capability: table discovery, the scheduler, retention, freshness
and (unless switched off) coverage.

`app.py` wires it only when the scheduler is enabled and a schedule is
(`Settings.scheduling_enabled()`); all three run on the leader only. Every control-plane
call of the three goes through one `Throttle`, so together they stay under
`scheduler.api_calls_per_second`. Freshness and coverage only read, with their own budget
(`freshness.api_calls_per_second`); their CloudWatch datums go to the kernel's `datums`,
which the events capability's publisher sends in its one batch.

A schedule that lists `accounts` runs in each of them instead of the daemon's own account:
every listed member account gets its own discovery, scheduler, retention and freshness (a
`Unit`), talking DynamoDB and AWS Backup through that account's role
(`daemon/kernel/member_clients.py`), with the schedule's `{account}` in its role and vault
replaced by the member's id. Its completions go on the bus with the member's table ARN (the
readers decide what to do with another account's table). Coverage watches the own
account's tables only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from daemon.aws.session import AwsClients
from daemon.aws.throttle import Throttle
from daemon.config.schedules import ScheduleSpec
from daemon.config.settings import Settings
from daemon.core.scheduling.admission import AdmissionQueue
from daemon.core.scheduling.plan_selection import PlanSelection
from daemon.core.tasks.exports import needs_pitr
from daemon.kernel.kernel import Kernel, Wired
from daemon.kernel.member_clients import InAccount, member_backup, member_dynamodb
from daemon.kernel.supervisor import Component
from daemon.obs.metrics_scheduler import SchedulerMetrics
from daemon.scheduling.coverage import CoverageWatch
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.engines import AwsBackupEngine, Engine, NativeEngine
from daemon.scheduling.freshness import FreshnessTracker
from daemon.scheduling.retention import RetentionRunner
from daemon.scheduling.scheduler import BackupScheduler
from daemon.scheduling.slots import ScheduleState
from daemon.scheduling.starter import Starter

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_dynamodb.client import DynamoDBClient

    from daemon.aws.session import Connect

FRESHNESS_CONCURRENCY = 4


@dataclass(frozen=True)
class Unit:
    """Discovery, scheduler and retention of one account's schedules (and, in a member
    account, their freshness)."""

    catalog: TableCatalog
    scheduler: BackupScheduler
    retention: RetentionRunner
    freshness: FreshnessTracker | None = None


@dataclass(frozen=True, kw_only=True)
class Scheduling(Wired):
    """The capability's components, by name (tests and `ddb-backupd plan` drive them).
    `accounts`: the units of the member accounts schedules list, by account id."""

    catalog: TableCatalog
    scheduler: BackupScheduler
    retention: RetentionRunner
    freshness: FreshnessTracker
    coverage: CoverageWatch | None
    accounts: dict[str, Unit] = field(default_factory=dict)


def wire(settings: Settings, aws: AwsClients, kernel: Kernel) -> Scheduling:
    own = [s for s in settings.schedules if not s.accounts]
    unit = wire_unit(settings, kernel, own, dynamodb=aws.dynamodb, backup=aws.backup,
                     metrics=kernel.metrics.scheduler)
    freshness, coverage = wire_freshness(settings, aws, kernel, unit.catalog)
    members = wire_members(settings, kernel)
    leader: list[Component | None] = [unit.catalog, unit.scheduler, unit.retention,
                                      freshness, coverage]
    for account, member in members.items():
        leader += [InAccount(c, account) for c in (member.catalog, member.scheduler,
                                                   member.retention, member.freshness)
                   if c is not None]
        if member.freshness is not None:
            freshness.members.append(member.freshness)
    if freshness.members:
        kernel.board.add("member_freshness", lambda: {
            str(t.account): t.status() for t in freshness.members})

    def status() -> dict[str, Any]:
        """Each schedule's section; a member account's under `<schedule>@<account>`."""
        sections = unit.scheduler.status()
        for account, member in members.items():
            sections |= {f"{name}@{account}": value
                         for name, value in member.scheduler.status().items()}
        return sections

    kernel.board.add("schedules", status)
    return Scheduling(leader=tuple(c for c in leader if c is not None), catalog=unit.catalog,
                      scheduler=unit.scheduler, retention=unit.retention, freshness=freshness,
                      coverage=coverage, accounts=members)


def wire_members(settings: Settings, kernel: Kernel) -> dict[str, Unit]:
    """One unit per member account a schedule lists, over the schedules that list it."""
    accounts = sorted({a for s in settings.schedules for a in s.accounts})
    if not accounts:
        return {}
    members = kernel.members
    if members is None:  # settings validation requires the template with accounts
        raise ValueError("schedules list accounts: organization.role_arn_template is required")
    units: dict[str, Unit] = {}
    for account in accounts:
        specs = [s.for_account(account) for s in settings.schedules if account in s.accounts]
        dynamodb, backup = member_dynamodb(members, account), member_backup(members, account)
        metrics = kernel.metrics.scheduler.for_account(account)
        unit = wire_unit(settings, kernel, specs, dynamodb=dynamodb, backup=backup,
                         metrics=metrics)
        tracker = member_freshness(settings, kernel, specs, account, unit.catalog,
                                   dynamodb=dynamodb, backup=backup, metrics=metrics)
        units[account] = Unit(unit.catalog, unit.scheduler, unit.retention, tracker)
    return units


def wire_unit(settings: Settings, kernel: Kernel, specs: list[ScheduleSpec],
              *, dynamodb: Connect[DynamoDBClient], backup: Connect[BackupClient],
              metrics: SchedulerMetrics) -> Unit:
    """Discovery, engines, retention, starter and scheduler of `specs` in one account (its
    DynamoDB and AWS Backup clients), with its own call budget: AWS's quotas count per
    account."""
    cfg = settings.scheduler
    throttle = Throttle(cfg.api_calls_per_second, cfg.concurrency)
    catalog = TableCatalog(dynamodb, throttle, kernel.clock, metrics,
                           cfg.discovery_interval_seconds,
                           want_tags=any(s.tags for s in specs))
    native = NativeEngine(dynamodb, throttle, kernel.clock, prefix=cfg.backup_name_prefix,
                          schedules=[s.name for s in specs])
    engines: dict[str, Engine] = {"dynamodb": native,
                                  "aws-backup": AwsBackupEngine(backup, throttle, kernel.clock)}
    retention = RetentionRunner(catalog, throttle, native, backup=backup,
                                schedules=specs, cfg=cfg, dry_run=settings.dry_run,
                                metrics=metrics, clock=kernel.clock)
    now = kernel.clock.now()
    states = {s.name: ScheduleState.of(s, engines[s.engine], now) for s in specs if s.enabled}
    starter = Starter(states, catalog, retention, tracker=kernel.tracker, bus=kernel.bus,
                      alerts=kernel.alerts, metrics=metrics,
                      follow_timeout_seconds=cfg.follow_timeout_seconds,
                      dry_run=settings.dry_run, region=settings.region)
    kernel.bus.subscribe(starter.on_completed)
    budget = int(settings.limit_bytes * (cfg.admission_ratio or settings.critical_ratio))
    scheduler = BackupScheduler(states, catalog, starter,
                                AdmissionQueue(budget, cfg.admission_order), cfg,
                                metrics=metrics, alerts=kernel.alerts, clock=kernel.clock)
    return Unit(catalog, scheduler, retention)


def member_freshness(settings: Settings, kernel: Kernel, specs: list[ScheduleSpec],
                     account: str, catalog: TableCatalog, *, dynamodb: Connect[DynamoDBClient],
                     backup: Connect[BackupClient], metrics: SchedulerMetrics,
                     ) -> FreshnessTracker | None:
    """Freshness of a member account's enabled schedules (`<schedule>@<account>`), read
    through its role with a read budget of its own (AWS's quotas count per account)."""
    enabled = [s for s in specs if s.enabled]
    if not enabled:
        return None
    rpo = settings.coverage.rpo_seconds if settings.coverage.enabled else None
    return FreshnessTracker(
        settings.freshness, enabled, prefix=settings.scheduler.backup_name_prefix,
        region=settings.region, dynamodb=dynamodb, backup=backup,
        throttle=Throttle(settings.freshness.api_calls_per_second, FRESHNESS_CONCURRENCY),
        catalog=catalog, metrics=kernel.metrics.freshness, scheduler_metrics=metrics,
        board=kernel.board, bus=kernel.bus, clock=kernel.clock,
        per_table=settings.metrics.per_table, rpo_seconds=rpo, leading=kernel.is_leader,
        account=account)


def wire_freshness(settings: Settings, aws: AwsClients, kernel: Kernel, catalog: TableCatalog,
                   ) -> tuple[FreshnessTracker, CoverageWatch | None]:
    """Freshness and coverage over the enabled schedules, with their own read budget. Coverage
    also counts the tables the configured backup plans' selections take as protected."""
    enabled = [s for s in settings.schedules if s.enabled and not s.accounts]
    reads = Throttle(settings.freshness.api_calls_per_second, FRESHNESS_CONCURRENCY)
    rpo = settings.coverage.rpo_seconds if settings.coverage.enabled else None
    freshness = FreshnessTracker(
        settings.freshness, enabled, prefix=settings.scheduler.backup_name_prefix,
        region=settings.region, dynamodb=aws.dynamodb, backup=aws.backup, throttle=reads,
        catalog=catalog, metrics=kernel.metrics.freshness,
        scheduler_metrics=kernel.metrics.scheduler, board=kernel.board, bus=kernel.bus,
        clock=kernel.clock, per_table=settings.metrics.per_table, rpo_seconds=rpo,
        leading=kernel.is_leader)
    kernel.datums.add(freshness.datums)
    if not settings.coverage.enabled:
        return freshness, None
    coverage = CoverageWatch(
        settings.coverage, catalog=catalog, freshness=freshness,
        pitr_needed=lambda table: needs_pitr(settings.exports, table), dynamodb=aws.dynamodb,
        throttle=reads, metrics=kernel.metrics.freshness, board=kernel.board,
        alerts=kernel.alerts, clock=kernel.clock)
    for spec in enabled:
        coverage.add_selector(f"schedule:{spec.name}", spec.selector())
    for plan in settings.backup_plans:  # what the plans capability keeps selected in AWS
        if plan.accounts:  # kept in member accounts: their tables, not the own
            continue
        for selection in plan.selections:
            coverage.add_selector(f"plan:{plan.name}/{selection.name}", PlanSelection.build(
                settings.region, resources=selection.resources,
                not_resources=selection.not_resources, tags=selection.tags,
                conditions=[(c.operator, c.key, c.value) for c in selection.conditions]))
    kernel.datums.add(coverage.datums)
    return freshness, coverage
