"""Metrics of restores, exports and the task runner (see metrics.py for the facade's rules).

Labels stay bounded: `kind` is restore|export, `outcome` one of OUTCOMES, `rule` a configured
rule name (the operator bounds those), `step`
one of RESCAN_STEPS. No table names, no task ids.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

KINDS = ("restore", "export")
RESCAN_STEPS = ("resume", "catch_up")
OUTCOMES = ("succeeded", "failed", "cancelled", "skipped")
# A small table restores in seconds, a large export runs for hours: 10 s .. 6 h.
DURATION_BUCKETS = (10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0,
                    14400.0, 21600.0)


class TaskMetrics:
    """Background tasks: running now, finished by outcome, durations, age of restored copies."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._running = Gauge("backupd_tasks_running", "Background tasks running now.",
                              ["kind"], registry=registry)
        self._queued = Gauge("backupd_tasks_queued", "Background tasks waiting for a slot.",
                             ["kind"], registry=registry)
        self._total = Counter("backupd_tasks", "Background tasks finished, by outcome.",
                              ["kind", "outcome"], registry=registry)
        self._duration = Histogram("backupd_task_duration_seconds",
                                   "Wall time of finished background tasks.",
                                   ["kind", "outcome"], buckets=DURATION_BUCKETS,
                                   registry=registry)
        self._copy_age = Gauge("backupd_restored_copy_age_seconds",
                               "Age of the newest restored copy of a rule (since its backup).",
                               ["rule"], registry=registry)
        self._rescans = Counter("backupd_task_rescans",
                                "Rescans of AWS by step (resume: unfinished restores and "
                                "exports; catch_up: completed backups whose trigger was lost), "
                                "by outcome (ok, failed).",
                                ["kind", "step", "outcome"], registry=registry)
        self._caught_up = Counter("backupd_tasks_caught_up",
                                  "Restores and exports a rescan started for a completed backup "
                                  "whose trigger was lost (a crash, a full queue).",
                                  ["kind"], registry=registry)
        for kind in KINDS:
            self._running.labels(kind)
            self._queued.labels(kind)
            self._caught_up.labels(kind)
            for step in RESCAN_STEPS:
                for result in ("ok", "failed"):
                    self._rescans.labels(kind, step, result)
            for outcome in OUTCOMES:
                self._total.labels(kind, outcome)

    def running(self, kind: str, count: int) -> None:
        self._running.labels(kind).set(count)

    def queued(self, kind: str, count: int) -> None:
        self._queued.labels(kind).set(count)

    def finished(self, kind: str, outcome: str, seconds: float) -> None:
        self._total.labels(kind, outcome).inc()
        self._duration.labels(kind, outcome).observe(max(0.0, seconds))

    def rescanned(self, kind: str, step: str, *, ok: bool) -> None:
        self._rescans.labels(kind, step, "ok" if ok else "failed").inc()

    def caught_up(self, kind: str) -> None:
        self._caught_up.labels(kind).inc()

    def newest_restored_copy(self, rule: str, backup_unix: float) -> None:
        """The newest finished copy of `rule` holds a backup taken at `backup_unix`.

        The age is computed at scrape time, so it keeps growing when no new copy arrives
        (which is what an alert on a stale staging table needs).
        """
        self._copy_age.labels(rule).set_function(lambda: max(0.0, time.time() - backup_unix))
