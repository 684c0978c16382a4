"""Wiring of the tasks capability: the task runner and the restore and export services.

`app.py` wires it only when a restore or an export rule is configured, and this module
imports the restore side only with restore rules, the export side only with export rules.
Every component runs on the leader only (restores and exports must not run twice across
replicas); the services hear completed backups on the bus and share one listing of recently
completed ones to catch up on triggers a crash lost. Both act in the account of the backup's
resource (`accounts.py`: a member account's through its role, `Kernel.members`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.aws.session import AwsClients
from daemon.aws.throttle import Throttle
from daemon.config.settings import Settings
from daemon.kernel.kernel import Kernel, Wired
from daemon.kernel.supervisor import Component
from daemon.tasks.accounts import TaskAccounts
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
                                 clock=kernel.clock, metrics=metrics,
                                 accounts=cross_account(settings))
    accounts = TaskAccounts(aws, kernel.members,
                            retry_seconds=settings.organization.role_retry_seconds)
    leader: list[Component] = [runner]
    restores = exports = None
    if settings.restores:
        from daemon.tasks.restores import RestoreService  # noqa: PLC0415 - only with rules

        restores = RestoreService(settings.restores, runner, accounts, completed, cfg,
                                  metrics=metrics)
        kernel.bus.subscribe(restores.on_backup)
        leader.append(restores)
    if settings.exports:
        from daemon.tasks.export_markers import MarkerStore  # noqa: PLC0415 - only with rules
        from daemon.tasks.exports import ExportService  # noqa: PLC0415

        exports = ExportService(settings.exports, runner, accounts, MarkerStore(aws.s3),
                                completed, cfg=cfg, metrics=metrics, clock=kernel.clock)
        kernel.bus.subscribe(exports.on_backup)
        leader.append(exports)
    return Tasks(leader=tuple(leader), runner=runner, restores=restores, exports=exports)


def cross_account(settings: Settings) -> list[str]:
    """The accounts whose completed backups the catch-up lists besides the own: with an
    Organization (`organization.enabled`) whose members are reached through roles, those
    served (`accounts:`), else every member (`*`); none otherwise (a member's backup could
    not be acted on)."""
    org = settings.organization
    if not org.enabled or org.role_arn_template is None:
        return []
    return list(settings.accounts) or ["*"]
