"""`ddb-backupd plan` against AWS: the scheduler's own discovery and retention, read-only.

Split from plan.py so the offline form never imports aioboto3. Output is JSON lines on
stdout: first one object per schedule, then one per backup retention decides on; logs go
to stderr so the output stays machine-readable.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from typing import Any

import structlog

from daemon.app import build_kernel
from daemon.aws.session import AwsClients
from daemon.cli.common import settings_or_report
from daemon.cli.next_runs import iso_z
from daemon.cli.plan import decision_json
from daemon.config.settings import Settings
from daemon.core.clock import FakeClock
from daemon.obs.metrics import Metrics
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.scheduler import BackupScheduler
from daemon.scheduling.wire import wire


async def plan_against_aws(now: datetime) -> int:
    """Print each schedule's next run and tables, then retention's decisions; exit code."""
    settings = settings_or_report()
    if settings is None:
        return 2
    previous = structlog.get_config()
    _quiet_logs()
    try:
        return await _plan(settings, now)
    finally:
        structlog.configure(**previous)


async def _plan(settings: Settings, now: datetime) -> int:
    metrics = Metrics()
    if not settings.scheduling_enabled():
        print("no enabled schedule: nothing to plan", file=sys.stderr)
        return 0
    async with AwsClients(settings.aws, settings.region, metrics) as aws:
        scheduling = wire(settings, aws, build_kernel(settings, aws, metrics, FakeClock(now)))
        catalog, scheduler, retention = (scheduling.catalog, scheduling.scheduler,
                                         scheduling.retention)
        try:
            await catalog.run_once()
            for line in schedule_lines(scheduler, catalog, now):
                print(json.dumps(line))
            for plan in await retention.plan(now):
                for decision in plan.decisions:
                    print(json.dumps({"schedule": plan.spec.name, "table": plan.table,
                                      **decision_json(decision)}))
        except Exception as exc:
            print(f"AWS call failed: {exc}", file=sys.stderr)
            return 1
    return 0


def schedule_lines(scheduler: BackupScheduler, catalog: TableCatalog,
                   now: datetime) -> list[dict[str, Any]]:
    lines = []
    for name, state in scheduler.states.items():
        state.refresh_selection(catalog)
        upcoming = state.expression.after(now)
        lines.append({"schedule": name, "expression": state.spec.expression,
                      "timezone": state.spec.timezone, "engine": state.spec.engine,
                      "next_run": iso_z(upcoming) if upcoming else None,
                      "tables": list(state.selected)})
    return lines


def _quiet_logs() -> None:
    """Warnings and errors only, to stderr: stdout carries the plan."""
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=lambda *_: structlog.PrintLogger(file=sys.stderr))
