"""Metrics of AWS Backup plans as code (see metrics.py for the facade's rules).

`backupd_backup_plan_drift{plan}` is 1 from the pass that finds a plan changed in AWS (its
document, its selections or its vault's lock no longer as configured, while the plan still
carries the configuration's fingerprint) until a pass finds it as configured again. Labels are
bounded by the configuration: one `plan` per configured plan.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge

OUTCOMES = ("ok", "error")


class PlanMetrics:
    """Intention-named methods for the metrics of backup plans."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._drift = Gauge("backupd_backup_plan_drift",
                            "1 while a backup plan differs from its configuration because it "
                            "was changed in AWS (drift), else 0.", ["plan"], registry=registry)
        self._changes = Counter("backupd_backup_plan_changes",
                                "Writes made to bring backup plans, selections and vaults to "
                                "their configuration, by kind.", ["plan", "change"],
                                registry=registry)
        self._passes = Counter("backupd_backup_plan_reconciles",
                               "Passes comparing every configured backup plan with AWS.",
                               ["outcome"], registry=registry)
        self._last = Gauge("backupd_backup_plan_last_reconcile_timestamp_seconds",
                           "Unix time of the last pass that read every configured plan.",
                           registry=registry)
        for outcome in OUTCOMES:
            self._passes.labels(outcome)

    def register_plans(self, plans: Iterable[str]) -> None:
        """Start every configured plan's series at 0."""
        # Here, not at the top: the plans core is imported only where plans are configured.
        from daemon.core.plans.reconcile import STEP_KINDS  # noqa: PLC0415

        for plan in plans:
            self._drift.labels(plan).set(0)
            for change in STEP_KINDS:
                self._changes.labels(plan, change)

    def drift(self, plan: str, drifting: bool) -> None:
        self._drift.labels(plan).set(1 if drifting else 0)

    def changed(self, plan: str, change: str) -> None:
        self._changes.labels(plan, change).inc()

    def reconciled(self, ok: bool, at_unix: float) -> None:
        self._passes.labels("ok" if ok else "error").inc()
        if ok:
            self._last.set(at_unix)
