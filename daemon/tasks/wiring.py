"""Wiring of the background-task feature: the runner and the services that feed it.

`build_tasks(ctx)` is what the composition root calls; every component it returns runs on
the leader only (restores and exports must not run twice across replicas).
"""

from __future__ import annotations

from daemon.kernel.context import AppContext
from daemon.kernel.supervisor import Component
from daemon.tasks.completed import CompletedBackups
from daemon.tasks.exports import ExportService
from daemon.tasks.restores import RestoreService
from daemon.tasks.runner import TaskRunner


def build_tasks(ctx: AppContext) -> list[Component]:
    """The task runner plus the restore and export services (which subscribe to the bus and
    share one listing of recently completed backups to catch up on lost triggers)."""
    runner = TaskRunner(ctx)
    completed = CompletedBackups(ctx)
    return [runner, RestoreService(ctx, runner, completed),
            ExportService(ctx, runner, completed)]
