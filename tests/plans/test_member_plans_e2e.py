"""Backup plans listing member accounts, end to end on the stand-in: each member keeps the
plan, its vault and its selection (with that member's role) through the member's role,
never the daemon's own account; drift there is repaired and alerted as `<plan>@<account>`;
a member whose role is refused is skipped while the other is served."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from daemon.app import build_kernel
from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.clock import FakeClock
from daemon.kernel.kernel import Kernel
from daemon.kernel.member_clients import AccountUnavailableError
from daemon.obs.metrics import Metrics
from daemon.plans.reconciler import PlanReconciler
from daemon.plans.wire import reconcilers_of
from tests.fixtures.roles import RefusingSts
from tests.fixtures.standin import member_client
from tests.plans.conftest import edit_plan, plan_named, selections_of
from tests.plans.specs import plan_spec

pytestmark = pytest.mark.e2e
A, B = "222222222222", "444444444444"
TEMPLATE = "arn:aws:iam::{account}:role/ddb-backupd-target"
MEMBER_ROLE = "arn:aws:iam::{account}:role/ddb-backupd-backup"


def backup_in(standin: Any, account: str | None) -> Any:
    """AWS Backup of `account` through its assumed role (None: the daemon's own)."""
    return member_client(standin, "backup", account, role_arn_template=TEMPLATE)


@dataclass
class Daemon:
    kernel: Kernel
    reconcilers: list[PlanReconciler]

    async def run_once(self) -> dict[str, str]:
        """One pass of every account's reconciler; the accounts skipped, and why."""
        skipped: dict[str, str] = {}
        for reconciler in self.reconcilers:
            try:
                await reconciler.run_once()
            except AccountUnavailableError as exc:
                skipped[str(reconciler.account)] = str(exc)
        return skipped

    def metric(self, name: str, **labels: str) -> float:
        return self.kernel.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def daemon(aws_env: dict[str, str]) -> AsyncIterator[Callable[[], Awaitable[Daemon]]]:
    del aws_env
    async with AsyncExitStack() as stack:

        async def make() -> Daemon:
            spec = plan_spec(accounts=[A, B], selections=[{
                "name": "tables", "iam_role_arn": MEMBER_ROLE,
                "resources": ["arn:aws:dynamodb:*:{account}:table/orders-*"]}])
            settings = Settings(region="us-east-1", backup_plans=[spec],
                                organization={"role_arn_template": TEMPLATE},
                                cloudwatch={"enabled": False})
            metrics = Metrics(CollectorRegistry())
            clients = await stack.enter_async_context(
                AwsClients(settings.aws, settings.region, metrics))
            kernel = build_kernel(settings, clients, metrics, FakeClock())
            return Daemon(kernel, reconcilers_of(settings, clients, kernel, apply=True))

        yield make


async def test_each_member_keeps_the_plan_its_vault_and_its_selection_through_its_role(
        daemon: Callable[[], Awaitable[Daemon]], fresh_standin: Any) -> None:
    served = await daemon()
    assert [r.account for r in served.reconcilers] == [A, B], "none for the own account"
    assert await served.run_once() == {}
    assert plan_named(backup_in(fresh_standin, None), "daily") is None
    for account in (A, B):
        backup = backup_in(fresh_standin, account)
        plan = plan_named(backup, "daily")
        assert plan is not None
        assert plan["BackupPlanArn"].split(":")[4] == account
        selection = selections_of(backup, plan["BackupPlanId"])["backupd-tables"]
        assert selection["IamRoleArn"] == MEMBER_ROLE.format(account=account)
        assert selection["Resources"] == [f"arn:aws:dynamodb:*:{account}:table/orders-*"]
        vault = backup.describe_backup_vault(BackupVaultName="plans-vault")
        assert vault["BackupVaultArn"].split(":")[4] == account
        assert served.metric("backupd_backup_plan_changes_total", plan=f"daily@{account}",
                             change="create_plan") == 1
    section = served.kernel.board.snapshot()["backup_plans"]
    assert {name: entry["state"] for name, entry in section.items()} == {
        f"daily@{A}": "missing", f"daily@{B}": "missing"}

    a = backup_in(fresh_standin, A)
    edited = plan_named(a, "daily")
    assert edited is not None
    edit_plan(a, edited["BackupPlanId"], lambda doc: doc["Rules"][0].update(
        StartWindowMinutes=240))
    await served.run_once()
    repaired = plan_named(a, "daily")
    assert repaired is not None
    assert repaired["BackupPlan"]["Rules"][0]["StartWindowMinutes"] == 60
    assert served.metric("backupd_backup_plan_drift", plan=f"daily@{A}") == 1
    assert served.metric("backupd_backup_plan_drift", plan=f"daily@{B}") == 0
    (drift,) = [r.alert for r in served.kernel.alerts.recent
                if r.alert.event == "backup_plan_drift"]
    assert drift.body["plan"] == f"daily@{A}"
    assert drift.subject.startswith(f"Backup plan drift: daily@{A}")


async def test_a_refused_role_skips_only_that_members_plans(
        daemon: Callable[[], Awaitable[Daemon]], fresh_standin: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = AwsClients.sts

    async def sts(self: AwsClients) -> Any:
        return RefusingSts(await real(self), {B})

    monkeypatch.setattr(AwsClients, "sts", sts)
    served = await daemon()
    skipped = await served.run_once()
    assert list(skipped) == [B]
    assert f"account {B}: its role {TEMPLATE.format(account=B)}" in skipped[B]
    assert plan_named(backup_in(fresh_standin, A), "daily") is not None
    assert plan_named(backup_in(fresh_standin, B), "daily") is None
    assert served.kernel.board.snapshot()["backup_plans"][f"daily@{B}"]["state"] == "pending"
