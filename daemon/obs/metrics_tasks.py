"""Metrics of the tasks feature (see metrics.py for the facade's rules)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry


class TasksMetrics:
    """Intention-named methods for the tasks feature's metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
