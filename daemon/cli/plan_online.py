"""`ddb-backupd plan` against AWS: the scheduler's own discovery and retention, read-only.

Split from plan.py so the offline form never imports aioboto3. Output is JSON lines on
stdout: first one object per schedule, then one per backup retention decides on, then one
per table late for its schedule or in a coverage gap (`gap`: late, unselected, pitr_off,
rpo_breached); logs go to stderr so the output stays machine-readable.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from typing import Any

import structlog

from daemon.app import build_context
from daemon.aws.session import AwsClients
from daemon.cli.common import settings_or_report
from daemon.cli.next_runs import iso_z
from daemon.cli.plan import decision_json
from daemon.config.settings import Settings
from daemon.core.clock import FakeClock
from daemon.obs.metrics import Metrics
from daemon.scheduling.coverage import CoverageWatch
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.freshness import FreshnessTracker, age_json
from daemon.scheduling.retention import RetentionRunner
from daemon.scheduling.scheduler import BackupScheduler, build_scheduler


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
    async with AwsClients(settings.aws, settings.region, metrics) as clients:
        ctx = build_context(settings, clients, metrics, FakeClock(now))
        components = build_scheduler(ctx)
        if not components:
            print("no enabled schedule: nothing to plan", file=sys.stderr)
            return 0
        catalog, scheduler, retention, freshness, *rest = components
        assert isinstance(catalog, TableCatalog)
        assert isinstance(scheduler, BackupScheduler)
        assert isinstance(retention, RetentionRunner)
        try:
            await catalog.run_once()
            for line in schedule_lines(scheduler, catalog, now):
                print(json.dumps(line))
            for plan in await retention.plan(now):
                for decision in plan.decisions:
                    print(json.dumps({"schedule": plan.spec.name, "table": plan.table,
                                      **decision_json(decision)}))
            assert isinstance(freshness, FreshnessTracker)
            coverage = rest[0] if rest else None
            assert coverage is None or isinstance(coverage, CoverageWatch)
            for line in await gap_lines(freshness, coverage):
                print(json.dumps(line))
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
