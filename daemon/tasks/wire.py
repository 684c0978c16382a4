"""Wiring of the tasks capability: the task runner and the restore and export services.

`app.py` wires it only when a restore or an export rule is configured, and this module
imports the restore side only with restore rules, the export side only with export rules.
Every component runs on the leader only (restores and exports must not run twice across
replicas); the services hear completed backups on the bus and share one listing of recently
completed ones to catch up on triggers a crash lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.aws.session import AwsClients
from daemon.aws.throttle import Throttle
from daemon.config.settings import Settings
from daemon.kernel.kernel import Kernel, Wired
from daemon.kernel.supervisor import Component
from daemon.tasks.completed import CompletedBackups
from daemon.tasks.runner import TaskRunner

if TYPE_CHECKING:
    from daemon.tasks.exports import ExportService
    from daemon.tasks.restores import RestoreService


@dataclass(frozen=True, kw_only=True)
class Tasks(Wired):
    """The capability's components, by name (tests drive them)."""

    runner: TaskRunner
    restores: RestoreService | None
    exports: ExportService | None


def wire(settings: Settings, aws: AwsClients, kernel: Kernel) -> Tasks:
    cfg, metrics = settings.tasks, kernel.metrics.tasks
    runner = TaskRunner(cfg, clock=kernel.clock, metrics=metrics, alerts=kernel.alerts)
    kernel.board.add("tasks", runner.status)
    # The catch-up lists the scheduler's native backups in a rate bucket of its own, as
    # large as the scheduler's: neither starves the other's control-plane calls.
    throttle = Throttle(settings.scheduler.api_calls_per_second, settings.scheduler.concurrency)
    completed = CompletedBackups(aws.backup, aws.dynamodb, throttle, settings.schedules,
                                 prefix=settings.scheduler.backup_name_prefix,
                                 catchup_seconds=cfg.catchup_seconds, region=settings.region,
                                 clock=kernel.clock, metrics=metrics)
    leader: list[Component] = [runner]
    restores = exports = None
    if settings.restores:
        from daemon.tasks.restore_aws import RestoreAws  # noqa: PLC0415 - only with rules
        from daemon.tasks.restores import RestoreService  # noqa: PLC0415

        restores = RestoreService(
            settings.restores, runner,
            RestoreAws(aws.dynamodb, aws.backup, aws.ssm, restore_role_arn=cfg.restore_role_arn),
            completed, cfg, metrics=metrics)
        kernel.bus.subscribe(restores.on_backup)
        leader.append(restores)
    if settings.exports:
        from daemon.tasks.export_aws import ExportAws  # noqa: PLC0415 - only with rules
        from daemon.tasks.export_markers import MarkerStore  # noqa: PLC0415
        from daemon.tasks.exports import ExportService  # noqa: PLC0415

        exports = ExportService(settings.exports, runner,
                                ExportAws(aws.dynamodb, aws.rds, aws.backup),
                                MarkerStore(aws.s3), completed, cfg=cfg, metrics=metrics,
                                clock=kernel.clock)
        kernel.bus.subscribe(exports.on_backup)
        leader.append(exports)
    return Tasks(leader=tuple(leader), runner=runner, restores=restores, exports=exports)
