"""Metrics of backup freshness and coverage (see metrics.py for the facade's rules).

Ages grow every second, so freshness is state read at scrape time, as the job tracker's is:
one collector reads the scheduler's latest `FreshnessReport` and `Coverage` (pure values,
recomputed by their owners at most every few seconds). Nothing is exported before the first
seed from AWS (no made-up zeros), nor by a replica that does not lead (a former leader's
ages would go stale). Per-table series can be turned off (`metrics.per_table: false`).
Every watched report is exported: the own account's and each member account's (whose
schedules read `<schedule>@<account>`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:  # the scheduling core is imported only where scheduling is configured
    from daemon.core.scheduling.freshness import Coverage, FreshnessReport

type ReportSource = Callable[[], FreshnessReport | None]
type CoverageSource = Callable[[], Coverage | None]


def _none() -> None:
    return None


class FreshnessCollector(Collector):
    """Per table and per schedule freshness, and the coverage gaps, at scrape time."""

    def __init__(self) -> None:
        self.reports: list[ReportSource] = []
        self.coverage: CoverageSource = _none
        self.per_table = True
        self.enabled: Callable[[], bool] = lambda: True

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        table, oldest, late, without, gaps = families = self._families()
        if not self.enabled():
            yield from families
            return
        for report in (source() for source in self.reports):
            if report is None:
                continue
            for item in report.schedules:
                oldest.add_metric([item.schedule], item.oldest.age_seconds if item.oldest else 0)
                late.add_metric([item.schedule], item.late)
                without.add_metric([item.schedule], item.without_backup)
                if self.per_table:
                    for age in report.ages.get(item.schedule, ()):
                        table.add_metric([item.schedule, age.table], age.since.timestamp())
        cov = self.coverage()
        if cov is not None:
            for gap, count in cov.counts().items():
                gaps.add_metric([gap], count)
        yield from families

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily(
                "backupd_table_last_backup_timestamp_seconds",
                "Unix time of the table's newest good backup; for a table without one in the "
                "listed window, the time since which it has had none (its creation, or the "
                "window's start).", labels=["schedule", "table"]),
            GaugeMetricFamily(
                "backupd_schedule_oldest_backup_age_seconds",
                "Age of the newest good backup of the schedule's stalest table (0 when it "
                "selects none).", labels=["schedule"]),
            GaugeMetricFamily(
                "backupd_schedule_late_tables",
                "Tables of the schedule whose newest good backup is older than "
                "freshness.late_factor times its expected interval.", labels=["schedule"]),
            GaugeMetricFamily(
                "backupd_schedule_tables_without_backup",
                "Tables of the schedule with no good backup in the listed window or since.",
                labels=["schedule"]),
            GaugeMetricFamily(
                "backupd_coverage_gap_tables",
                "Discovered tables in a coverage gap: unselected (no schedule or plan selects "
                "them), pitr_off (an export rule needs PITR), rpo_breached (newest good backup "
                "older than coverage.rpo_seconds).", labels=["gap"]),
        )


class FreshnessMetrics:
    """Intention-named methods for the freshness and coverage metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._collector = FreshnessCollector()
        registry.register(self._collector)

    def watch(self, report: ReportSource, *, per_table: bool,
              enabled: Callable[[], bool] = lambda: True) -> None:
        """Also export the freshness `report()` returns at each scrape, while `enabled()`."""
        self._collector.reports.append(report)
        self._collector.per_table = per_table
        self._collector.enabled = enabled

    def watch_coverage(self, coverage: CoverageSource) -> None:
        """Export the gaps of the `coverage()` returned at each scrape."""
        self._collector.coverage = coverage
