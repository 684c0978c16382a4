"""The tracker's scrape-time collector: the limit and the levels' ratios beside the job gauges."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from daemon.core.events.tracker import JobTable
from daemon.obs.collector import TrackerCollector


def registry_with(enabled: bool) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(TrackerCollector(JobTable(), lambda: 1, 100, enabled=lambda: enabled,
                                       ratios={"warning": 0.8, "critical": 0.9}))
    return registry


def test_the_threshold_ratios_are_exported_beside_the_limit() -> None:
    """Dashboards draw the daemon's own levels: limit x ratio, no copy of the settings."""
    registry = registry_with(enabled=True)
    assert registry.get_sample_value("backupd_backup_limit_bytes") == 100
    assert registry.get_sample_value("backupd_threshold_ratio", {"level": "warning"}) == 0.8
    assert registry.get_sample_value("backupd_threshold_ratio", {"level": "critical"}) == 0.9


def test_a_follower_exports_no_ratios_as_it_exports_no_limit() -> None:
    registry = registry_with(enabled=False)
    assert registry.get_sample_value("backupd_backup_limit_bytes") is None
    assert registry.get_sample_value("backupd_threshold_ratio", {"level": "warning"}) is None
