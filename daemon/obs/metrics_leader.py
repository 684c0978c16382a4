"""Metrics of the leader feature (see metrics.py for the facade's rules)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry


class LeaderMetrics:
    """Intention-named methods for the leader feature's metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
