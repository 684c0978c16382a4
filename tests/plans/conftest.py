"""Fixtures of the plans' end-to-end tests: reconcilers on the local stand-in, and AWS's truth.

`reconciler(plans, apply=True)` builds what the composition root builds for `backup_plans:`
on fresh clients, its own metrics, status board and alert outbox (no topic: alerts stay in
the outbox, where tests count them). Building a second one is a restart: nothing carries over
but AWS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.clock import FakeClock
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.obs.metrics import Metrics
from daemon.plans.plan_aws import PlanCalls
from daemon.plans.reconciler import PlanReconciler
from tests.fixtures.standin import boto3_client

READS = frozenset({"ListBackupPlans", "ListTags", "GetBackupPlan", "ListBackupSelections",
                   "GetBackupSelection", "DescribeBackupVault"})


@dataclass
class Instance:
    """One reconciler (a leader's), its metrics, board and outbox."""

    reconciler: PlanReconciler
    metrics: Metrics
    board: StatusBoard
    alerts: AlertOutbox

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    def calls(self) -> dict[str, float]:
        """AWS Backup operations called so far, by name (every outcome)."""
        out: dict[str, float] = {}
        for family in self.metrics.registry.collect():
            for sample in family.samples:
                if sample.name == "backupd_aws_api_calls_total" and \
                        sample.labels["service"] == "backup":
                    op = sample.labels["operation"]
                    out[op] = out.get(op, 0.0) + sample.value
        return out

    async def pass_calls(self) -> dict[str, float]:
        """One pass; the calls it made."""
        before = self.calls()
        await self.reconciler.run_once()
        after = self.calls()
        return {op: n - before.get(op, 0.0) for op, n in after.items()
                if n - before.get(op, 0.0)}

    def status(self) -> dict[str, Any]:
        return dict(self.board.snapshot()["backup_plans"])


@pytest.fixture
async def reconciler(aws_env: dict[str, str]) -> AsyncIterator[Callable[..., Awaitable[Instance]]]:
    """`await reconciler(plans, apply=True)` -> a fresh reconciler on the stand-in."""
    del aws_env
    async with AsyncExitStack() as stack:

        async def make(plans: list[dict[str, Any]], *, apply: bool = True) -> Instance:
            settings = Settings(region="us-east-1", backup_plans=plans,
                                cloudwatch={"enabled": False})
            metrics = Metrics(CollectorRegistry())
            clients = await stack.enter_async_context(
                AwsClients(settings.aws, settings.region, metrics))
            board, alerts = StatusBoard(), AlertOutbox(None, metrics, clients)
            made = PlanReconciler(settings.backup_plans, calls=PlanCalls(clients.backup),
                                  metrics=metrics.plans, board=board, alerts=alerts,
                                  clock=FakeClock(), interval_seconds=60, apply=apply)
            return Instance(made, metrics, board, alerts)

        yield make


@pytest.fixture
def backup(fresh_standin: Any) -> Any:
    """A synchronous AWS Backup client on the stand-in: someone at the console."""
    return boto3_client(fresh_standin, "backup")


def plan_named(backup: Any, name: str) -> dict[str, Any] | None:
    """The live plan of that name, as GetBackupPlan returns it."""
    for item in backup.list_backup_plans()["BackupPlansList"]:
        if item["BackupPlanName"] == name:
            return dict(backup.get_backup_plan(BackupPlanId=item["BackupPlanId"]))
    return None


def selections_of(backup: Any, plan_id: str) -> dict[str, dict[str, Any]]:
    """Selection name -> GetBackupSelection's BackupSelection."""
    listed = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    return {s["SelectionName"]: backup.get_backup_selection(
        BackupPlanId=plan_id, SelectionId=s["SelectionId"])["BackupSelection"] for s in listed}


def edit_plan(backup: Any, plan_id: str, edit: Callable[[dict[str, Any]], None]) -> str:
    """Change the plan as a person would (UpdateBackupPlan); returns the new version id."""
    document = backup.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]
    for rule in document["Rules"]:
        rule.pop("RuleId", None)
    edit(document)
    return str(backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan=document)["VersionId"])
