"""Scrape-time export of the state we hold (the job tracker): a custom Prometheus collector.

Totals are kept incrementally by the tracker; a scrape only reads them (O(groups), never
O(jobs)). Groups seen once keep reporting 0 after they empty, so series do not vanish.
A follower replica exports no job gauges (`enabled` returns False) so `sum()` never counts
a job twice. The job gauges carry the account; the levels and limits per (account, region)
are exported beside the unlabelled highest level and default limit that single-account
dashboards and alert rules read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import NamedTuple

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from daemon.core.events.tracker import JobTable

LABELS = ["vault", "resource_type", "region", "account"]
SCOPE = ["account", "region"]


class ScopeLevel(NamedTuple):
    """The level of one (account, region) and the limit it is measured against."""

    account: str
    region: str
    level: int
    limit_bytes: int


class TrackerCollector(Collector):
    """backupd_backup_jobs_running, backupd_backup_running_bytes, limit, ratios and level.

    `ratios` are the threshold levels as shares of the limit (warning, critical): exported so
    dashboards draw the daemon's own levels instead of copies of its settings.
    """

    def __init__(self, tracker: JobTable, level: Callable[[], int], limit_bytes: int,
                 enabled: Callable[[], bool] = lambda: True, *,
                 ratios: Mapping[str, float] | None = None,
                 levels: Callable[[], Sequence[ScopeLevel]] = list) -> None:
        self._tracker = tracker
        self._levels = levels
        self._level = level
        self._limit = limit_bytes
        self._ratios = dict(ratios or {})
        self._seen: set[tuple[str, str, str, str]] = set()
        self.enabled = enabled

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Describe without reading state, so registering the collector is cheap.
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        jobs, size, limit, level, ratio, scope_level, scope_limit = self._families()
        if self.enabled():
            totals = self._tracker.totals()
            self._seen.update(totals)
            for key in sorted(self._seen):
                group = totals.get(key)
                jobs.add_metric(list(key), group.jobs if group else 0)
                size.add_metric(list(key), group.bytes if group else 0)
            limit.add_metric([], self._limit)
            level.add_metric([], self._level())
            for name, share in sorted(self._ratios.items()):
                ratio.add_metric([name], share)
            for one in self._levels():
                scope_level.add_metric([one.account, one.region], one.level)
                scope_limit.add_metric([one.account, one.region], one.limit_bytes)
        yield from (jobs, size, limit, level, ratio, scope_level, scope_limit)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("backupd_backup_jobs_running",
                              "Backup jobs running now (CREATED, PENDING, RUNNING, ABORTING).",
                              labels=LABELS),
            GaugeMetricFamily("backupd_backup_running_bytes",
                              "Bytes being backed up now by running jobs.", labels=LABELS),
            GaugeMetricFamily("backupd_backup_limit_bytes",
                              "Configured concurrent-backup limit in bytes (the default of "
                              "every account and region without an override)."),
            GaugeMetricFamily("backupd_threshold_level",
                              "Highest threshold level of running bytes of any account and "
                              "region: 0 ok, 1 warning, 2 critical."),
            GaugeMetricFamily("backupd_threshold_ratio",
                              "Share of the limit at which running bytes reach a level "
                              "(warning_ratio, critical_ratio).", labels=["level"]),
            GaugeMetricFamily("backupd_account_threshold_level",
                              "Threshold level of the running bytes of one account in one "
                              "region: 0 ok, 1 warning, 2 critical.", labels=SCOPE),
            GaugeMetricFamily("backupd_account_limit_bytes",
                              "Concurrent-backup limit of one account in one region (limits).",
                              labels=SCOPE),
        )
