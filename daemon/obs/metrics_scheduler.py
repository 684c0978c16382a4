"""Metrics of the scheduler feature (see metrics.py for the facade's rules).

`backupd_schedule_expected_interval_seconds` is derived from each expression, so a single
alert rule ("no success within 2 intervals") fits every schedule:
`time() - backupd_schedule_last_success_timestamp_seconds > 2 * backupd_schedule_expected_interval_seconds`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge

BACKUP_OUTCOMES = ("started", "completed", "failed", "missed", "dry_run")
RETENTION_OUTCOMES = ("deleted", "failed", "dry_run", "duplicate")


class SchedulerMetrics:
    """Intention-named methods for the scheduler feature's metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._backups = Counter(
            "backupd_scheduled_backups", "Backups the scheduler started, saw complete, saw fail, "
            "missed (window passed) or skipped in dry-run.",
            ["schedule", "engine", "outcome"], registry=registry)
        self._deletions = Counter(
            "backupd_retention_deletions", "Backups retention deleted (or would have: dry_run; "
            "duplicate: a second backup of one slot, made by a racing replica).",
            ["schedule", "outcome"], registry=registry)
        self._next_run = Gauge("backupd_schedule_next_run_timestamp_seconds",
                               "Unix time of the schedule's next slot.", ["schedule"],
                               registry=registry)
        self._last_success = Gauge(
            "backupd_schedule_last_success_timestamp_seconds",
            "Unix time of the slot of the schedule's last backup that completed.", ["schedule"],
            registry=registry)
        self._interval = Gauge("backupd_schedule_expected_interval_seconds",
                               "Longest regular gap between the schedule's slots.", ["schedule"],
                               registry=registry)
        self._missed = Counter("backupd_schedule_missed_slots",
                               "Slots nobody ran (daemon down past the start window).",
                               ["schedule"], registry=registry)
        self._deferred = Counter("backupd_backups_deferred",
                                 "Backups admission control made wait for room.", ["schedule"],
                                 registry=registry)
        self._queue = Gauge("backupd_admission_queue_length",
                            "Backups waiting for room under the admission budget.",
                            registry=registry)
        self._selected = Gauge("backupd_schedule_selected_tables",
                               "Tables the schedule currently selects.", ["schedule"],
                               registry=registry)
        self._discovered = Gauge("backupd_discovered_tables",
                                 "Tables found by the last ListTables refresh.", registry=registry)
        self._latest: dict[str, float] = {}
        self._queues: dict[str, int] = {}
        self._tables: dict[str, int] = {}
        self._suffix = ""

    def register_schedules(self, schedules: Iterable[tuple[str, str]]) -> None:
        """Create every (schedule, engine) label set at 0, so rate() and alerts see them."""
        for schedule, engine in schedules:
            for outcome in BACKUP_OUTCOMES:
                self._backups.labels(self._of(schedule), engine, outcome)
            for outcome in RETENTION_OUTCOMES:
                self._deletions.labels(self._of(schedule), outcome)
            self._missed.labels(self._of(schedule))
            self._deferred.labels(self._of(schedule))

    def backup(self, schedule: str, engine: str, outcome: str, count: int = 1) -> None:
        if count:
            self._backups.labels(self._of(schedule), engine, outcome).inc(count)

    def deletion(self, schedule: str, outcome: str, count: int = 1) -> None:
        if count:
            self._deletions.labels(self._of(schedule), outcome).inc(count)

    def next_run(self, schedule: str, at_unix: float | None) -> None:
        """Record the next slot; NaN when the schedule never runs again."""
        self._next_run.labels(self._of(schedule)).set(float("nan") if at_unix is None else at_unix)

    def last_success(self, schedule: str, at_unix: float) -> None:
        """Move the schedule's last success forward (a late completion never moves it back)."""
        latest = max(at_unix, self._latest.get(self._of(schedule), 0.0))
        self._latest[self._of(schedule)] = latest
        self._last_success.labels(self._of(schedule)).set(latest)

    def last_success_at(self, schedule: str) -> datetime | None:
        """The schedule's last success as recorded here (for /status), or None."""
        latest = self._latest.get(self._of(schedule))
        return None if latest is None else datetime.fromtimestamp(latest, UTC)

    def expected_interval(self, schedule: str, seconds: float) -> None:
        self._interval.labels(self._of(schedule)).set(seconds)

    def missed_slots(self, schedule: str, count: int) -> None:
        if count:
            self._missed.labels(self._of(schedule)).inc(count)

    def deferred(self, schedule: str) -> None:
        self._deferred.labels(self._of(schedule)).inc()

    def admission_queue(self, length: int) -> None:
        self._queues[self._suffix] = length
        self._queue.set(sum(self._queues.values()))

    def selected_tables(self, schedule: str, count: int) -> None:
        self._selected.labels(self._of(schedule)).set(count)

    def discovered_tables(self, count: int) -> None:
        self._tables[self._suffix] = count
        self._discovered.set(sum(self._tables.values()))

    def for_account(self, account: str) -> SchedulerMetrics:
        """The same series for a schedule's work in a member account: its `schedule` label
        reads `<schedule>@<account>` (the own account's series keep the plain name), and the
        process-wide gauges (admission queue, discovered tables) sum over the accounts."""
        view = copy.copy(self)
        view._suffix = f"@{account}"
        return view

    def label(self, schedule: str) -> str:
        """The schedule as its series (and alerts) name it: `<schedule>@<account>` in a
        member account's view, else the name."""
        return schedule + self._suffix

    _of = label
