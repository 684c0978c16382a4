"""Metrics of the leader feature (see metrics.py for the facade's rules).

`backupd_leader` is 1 on the replica that leads and 0 on followers, so `sum(backupd_leader)`
over a deployment is 1 when all is well and anything else is an alert.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge

TRANSITIONS = ("acquired", "lost", "released")
RENEWAL_OUTCOMES = ("ok", "error", "conflict")


class LeaderMetrics:
    """Intention-named methods for the leader feature's metrics."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry
        self._leader = Gauge("backupd_leader", "1 while this replica holds the leader lease.",
                             registry=registry)
        self._transitions = Counter("backupd_leader_transitions",
                                    "Changes of leadership seen by this replica.", ["event"],
                                    registry=registry)
        self._renewals = Counter("backupd_leader_lease_writes",
                                 "Conditional writes of the lease item, by outcome.", ["outcome"],
                                 registry=registry)
        for event in TRANSITIONS:
            self._transitions.labels(event)
        for outcome in RENEWAL_OUTCOMES:
            self._renewals.labels(outcome)

    def leading(self, leading: bool) -> None:
        """Record whether this replica leads now."""
        self._leader.set(1 if leading else 0)

    def transition(self, event: str) -> None:
        """Count an acquired, lost or released lease."""
        self._transitions.labels(event).inc()

    def lease_write(self, outcome: str) -> None:
        """Count a lease write: ok, error (AWS failed) or conflict (someone else wrote first)."""
        self._renewals.labels(outcome).inc()
