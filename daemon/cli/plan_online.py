"""`ddb-backupd plan` against AWS: the scheduler's discovery and retention, the plans' changes.

Split from plan.py so the offline form never imports aioboto3. Output is JSON lines on
stdout: first one object per schedule, then one per backup retention decides on, then one
per table late for its schedule or in a coverage gap (`gap`: late, unselected, pitr_off,
rpo_breached), then one per configured backup plan (the changes the plans reconciler would
make, not made); logs go to stderr so the output stays machine-readable.
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
from daemon.kernel.kernel import Kernel
from daemon.obs.metrics import Metrics
from daemon.plans.wire import reconcilers_of
from daemon.scheduling.coverage import CoverageWatch
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.freshness import FreshnessTracker, age_json
from daemon.scheduling.scheduler import BackupScheduler
from daemon.scheduling.wire import Scheduling, wire


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
    if not settings.scheduling_enabled() and not settings.backup_plans:
        print("no enabled schedule and no backup plan: nothing to plan", file=sys.stderr)
        return 0
    async with AwsClients(settings.aws, settings.region, metrics) as aws:
        kernel = build_kernel(settings, aws, metrics, FakeClock(now))
        try:
            if settings.scheduling_enabled():
                await _schedules(wire(settings, aws, kernel), now)
            else:
                print("no enabled schedule: no backups or deletions to plan", file=sys.stderr)
            for line in await backup_plan_lines(settings, aws, kernel):
                print(json.dumps(line, default=str))
        except Exception as exc:
            print(f"AWS call failed: {exc}", file=sys.stderr)
            return 1
    return 0


async def _schedules(scheduling: Scheduling, now: datetime) -> None:
    catalog, scheduler, retention = (scheduling.catalog, scheduling.scheduler,
                                     scheduling.retention)
    await catalog.run_once()
    for line in schedule_lines(scheduler, catalog, now):
        print(json.dumps(line))
    for plan in await retention.plan(now):
        for decision in plan.decisions:
            print(json.dumps({"schedule": plan.spec.name, "table": plan.table,
                              **decision_json(decision)}))
    for line in await gap_lines(scheduling.freshness, scheduling.coverage):
        print(json.dumps(line))


async def backup_plan_lines(settings: Settings, aws: AwsClients,
                            kernel: Kernel) -> list[dict[str, Any]]:
    """One object per configured backup plan (a plan listing accounts: one per member, as
    `<plan>@<account>`): its state, what differs and the steps the reconciler would take
    (`steps` empty: nothing to do). Nothing is written to AWS."""
    if not settings.backup_plans:
        return []
    lines: list[dict[str, Any]] = []
    for reconciler in reconcilers_of(settings, aws, kernel, apply=False):
        lines += [{"backup_plan": reconciler.label(v.plan), "state": v.state, "cause": v.cause,
                   "plan_id": v.plan_id,
                   "changes": [{"field": d.field, "actual": d.actual, "desired": d.desired}
                               for d in v.differences],
                   "steps": [f"{s.kind} {s.target}" for s in v.steps], "notes": list(v.notes)}
                  for v in await reconciler.preview()]
    return lines


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


async def gap_lines(freshness: FreshnessTracker,
                    coverage: CoverageWatch | None) -> list[dict[str, Any]]:
    """Tables late for their schedule, then the coverage gaps: one line per table and gap."""
    await freshness.seed()
    lines: list[dict[str, Any]] = []
    report = freshness.report()
    for schedule, ages in (report.ages if report else {}).items():
        late = sorted((a for a in ages if a.late), key=lambda a: (a.since, a.table))
        lines += [{"gap": "late", "schedule": schedule, **age_json(age)} for age in late]
    if coverage is not None:
        found = await coverage.check()
        lines += [{"gap": "unselected", "table": name} for name in found.unselected]
        lines += [{"gap": "pitr_off", "table": name} for name in found.pitr_off]
        lines += [{"gap": "rpo_breached", **age_json(age)} for age in found.rpo_breached]
    return lines


def _quiet_logs() -> None:
    """Warnings and errors only, to stderr: stdout carries the plan."""
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=lambda *_: structlog.PrintLogger(file=sys.stderr))
