"""Wiring of the scheduling capability: table discovery, the scheduler, retention, freshness
and (unless switched off) coverage.

`app.py` wires it only when the scheduler is enabled and a schedule is
(`Settings.scheduling_enabled()`); all three run on the leader only. Every control-plane
call of the three goes through one `Throttle`, so together they stay under
`scheduler.api_calls_per_second`. Freshness and coverage only read, with their own budget
(`freshness.api_calls_per_second`); their CloudWatch datums go to the kernel's `datums`,
which the events capability's publisher sends in its one batch.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.aws.session import AwsClients
from daemon.aws.throttle import Throttle
from daemon.config.settings import Settings
from daemon.core.scheduling.admission import AdmissionQueue
from daemon.core.scheduling.plan_selection import PlanSelection
from daemon.core.tasks.exports import needs_pitr
from daemon.kernel.kernel import Kernel, Wired
from daemon.kernel.supervisor import Component
from daemon.scheduling.coverage import CoverageWatch
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.engines import AwsBackupEngine, Engine, NativeEngine
from daemon.scheduling.freshness import FreshnessTracker
from daemon.scheduling.retention import RetentionRunner
from daemon.scheduling.scheduler import BackupScheduler
from daemon.scheduling.slots import ScheduleState
from daemon.scheduling.starter import Starter

FRESHNESS_CONCURRENCY = 4


@dataclass(frozen=True, kw_only=True)
class Scheduling(Wired):
    """The capability's components, by name (tests and `ddb-backupd plan` drive them)."""

    catalog: TableCatalog
    scheduler: BackupScheduler
    retention: RetentionRunner
    freshness: FreshnessTracker
    coverage: CoverageWatch | None


def wire(settings: Settings, aws: AwsClients, kernel: Kernel) -> Scheduling:
    cfg, metrics = settings.scheduler, kernel.metrics.scheduler
    throttle = Throttle(cfg.api_calls_per_second, cfg.concurrency)
    catalog = TableCatalog(aws.dynamodb, throttle, kernel.clock, metrics,
                           cfg.discovery_interval_seconds,
                           want_tags=any(s.tags for s in settings.schedules))
    native = NativeEngine(aws.dynamodb, throttle, kernel.clock, prefix=cfg.backup_name_prefix,
                          schedules=[s.name for s in settings.schedules])
    engines: dict[str, Engine] = {"dynamodb": native,
                                  "aws-backup": AwsBackupEngine(aws.backup, throttle, kernel.clock)}
    retention = RetentionRunner(catalog, throttle, native, backup=aws.backup,
                                schedules=settings.schedules, cfg=cfg, dry_run=settings.dry_run,
                                metrics=metrics, clock=kernel.clock)
    now = kernel.clock.now()
    states = {s.name: ScheduleState.of(s, engines[s.engine], now)
              for s in settings.schedules if s.enabled}
    starter = Starter(states, catalog, retention, tracker=kernel.tracker, bus=kernel.bus,
                      alerts=kernel.alerts, metrics=metrics,
                      follow_timeout_seconds=cfg.follow_timeout_seconds,
                      dry_run=settings.dry_run, region=settings.region)
    kernel.bus.subscribe(starter.on_completed)
    budget = int(settings.limit_bytes * (cfg.admission_ratio or settings.critical_ratio))
    scheduler = BackupScheduler(states, catalog, starter,
                                AdmissionQueue(budget, cfg.admission_order), cfg,
                                metrics=metrics, alerts=kernel.alerts, clock=kernel.clock)
    kernel.board.add("schedules", scheduler.status)
    freshness, coverage = wire_freshness(settings, aws, kernel, catalog)
    leader: list[Component | None] = [catalog, scheduler, retention, freshness, coverage]
    return Scheduling(leader=tuple(c for c in leader if c is not None), catalog=catalog,
                      scheduler=scheduler, retention=retention, freshness=freshness,
                      coverage=coverage)


def wire_freshness(settings: Settings, aws: AwsClients, kernel: Kernel, catalog: TableCatalog,
                   ) -> tuple[FreshnessTracker, CoverageWatch | None]:
    """Freshness and coverage over the enabled schedules, with their own read budget. Coverage
    also counts the tables the configured backup plans' selections take as protected."""
    enabled = [s for s in settings.schedules if s.enabled]
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
        for selection in plan.selections:
            coverage.add_selector(f"plan:{plan.name}/{selection.name}", PlanSelection.build(
                settings.region, resources=selection.resources,
                not_resources=selection.not_resources, tags=selection.tags,
                conditions=[(c.operator, c.key, c.value) for c in selection.conditions]))
    kernel.datums.add(coverage.datums)
    return freshness, coverage
