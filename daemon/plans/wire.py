"""Wiring of the plans capability: one reconciler of the configured AWS Backup plans.

`app.py` wires it only when `backup_plans` is configured; it runs on the leader only (two
replicas must not both repair a plan).
"""

from __future__ import annotations

from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.kernel.kernel import Kernel, Wired
from daemon.plans.plan_aws import PlanCalls
from daemon.plans.reconciler import PlanReconciler


def wire(settings: Settings, aws: AwsClients, kernel: Kernel) -> Wired:
    reconciler = PlanReconciler(
        settings.backup_plans, calls=PlanCalls(aws.backup), metrics=kernel.metrics.plans,
        board=kernel.board, alerts=kernel.alerts, clock=kernel.clock,
        interval_seconds=settings.reconcile_seconds, apply=not settings.dry_run)
    return Wired(leader=(reconciler,))
