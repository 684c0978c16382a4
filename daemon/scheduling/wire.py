"""Wiring of the scheduling capability: table discovery, the scheduler and retention.

`app.py` wires it only when the scheduler is enabled and a schedule is
(`Settings.scheduling_enabled()`); all three run on the leader only. Every control-plane
call of the three goes through one `Throttle`, so together they stay under
`scheduler.api_calls_per_second`.
"""

from __future__ import annotations

from dataclasses import dataclass

from daemon.aws.session import AwsClients
from daemon.aws.throttle import Throttle
from daemon.config.settings import Settings
from daemon.core.scheduling.admission import AdmissionQueue
from daemon.kernel.kernel import Kernel, Wired
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.engines import AwsBackupEngine, Engine, NativeEngine
from daemon.scheduling.retention import RetentionRunner
from daemon.scheduling.scheduler import BackupScheduler
from daemon.scheduling.slots import ScheduleState
from daemon.scheduling.starter import Starter


@dataclass(frozen=True, kw_only=True)
class Scheduling(Wired):
    """The capability's components, by name (tests and `ddb-backupd plan` drive them)."""

    catalog: TableCatalog
    scheduler: BackupScheduler
    retention: RetentionRunner


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
    return Scheduling(leader=(catalog, scheduler, retention), catalog=catalog,
                      scheduler=scheduler, retention=retention)
