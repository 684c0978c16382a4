"""Metrics of the scheduler feature (see metrics.py for the facade's rules)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry


class SchedulerMetrics:
    """Intention-named methods for the scheduler feature's metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
