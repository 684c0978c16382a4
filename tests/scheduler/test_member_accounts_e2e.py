"""Schedules in member accounts, end to end on the stand-in: a schedule listing two member
accounts backs up and prunes the tables of each through that account's role (moto's STS
AssumeRole), never the daemon's own, and publishes each completion with the member's table
ARN; a restart in the same slot makes no second backup; a member whose role is refused is
skipped and reported while the other is served; each member's freshness is tracked under
`<schedule>@<account>`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import structlog
from botocore.exceptions import ClientError
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from daemon.app import build_kernel
from daemon.aws.session import AwsClients
from daemon.core import arns
from daemon.core.clock import FakeClock
from daemon.kernel.bus import BackupCompleted
from daemon.kernel.kernel import Kernel
from daemon.kernel.member_clients import AccountUnavailableError, InAccount
from daemon.obs.metrics import Metrics
from daemon.scheduling.engines import NativeEngine
from daemon.scheduling.wire import Scheduling, wire
from tests.fixtures.roles import RefusingSts
from tests.fixtures.standin import member_client
from tests.scheduler.conftest import settings_for

pytestmark = pytest.mark.e2e
A, B = "222222222222", "444444444444"
TEMPLATE = "arn:aws:iam::{account}:role/ddb-backupd-member"
SLOT = datetime(2026, 11, 24, 5, tzinfo=UTC)
OLD = "backupd-hourly-202611230500"  # a backup of yesterday's slot
HOURLY = {"name": "hourly", "expression": "rate(1 hour)", "tables": ["orders-*"],
          "accounts": [A, B], "retention": {"keep_last": 1}}


def in_account(standin: Any, account: str) -> Any:
    """DynamoDB in `account`, with its assumed-role credentials (the daemon's own: plain)."""
    return member_client(standin, "dynamodb", None if account == "own" else account,
                         role_arn_template=TEMPLATE)


def tables(ddb: Any, *names: str) -> None:
    for name in names:
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])


def backups(ddb: Any) -> list[str]:
    """Every USER backup of the account as name@table, sorted (duplicates show twice)."""
    listed = ddb.list_backups(BackupType="USER")["BackupSummaries"]
    return sorted(f"{b['BackupName']}@{b['TableName']}" for b in listed)


@pytest.fixture
def accounts(fresh_standin: Any) -> dict[str, Any]:
    """Three accounts: the daemon's own and two members, each with its tables and an old
    backup of the shared table name made by yesterday's slot."""
    clients = {name: in_account(fresh_standin, name) for name in ("own", A, B)}
    tables(clients["own"], "orders-shared", "orders-own")
    tables(clients[A], "orders-shared", "orders-a")
    tables(clients[B], "orders-shared", "users-b")
    for ddb in clients.values():
        ddb.create_backup(TableName="orders-shared", BackupName=OLD)
    assert clients[A].describe_table(TableName="orders-a")["Table"]["TableArn"].split(":")[4] == A
    return clients


@dataclass
class Daemon:
    """The scheduling capability of one daemon, and its kernel (metrics, alerts, /status)."""

    scheduling: Scheduling
    kernel: Kernel
    skipped: dict[str, str] = field(default_factory=dict)  # account -> why, last tick

    async def tick(self, now: datetime) -> None:
        """One discovery, scheduler and retention pass in every member account, as their
        components do (a discovery that fails is logged and tried again next interval)."""
        for account, unit in self.scheduling.accounts.items():
            try:
                await unit.catalog.run_once()
            except AccountUnavailableError as exc:
                self.skipped[account] = str(exc)
                continue
            await unit.scheduler.run_once(now)
            await unit.scheduler.starter.drain()
            await unit.retention.run_once(now)

    def metric(self, name: str, **labels: str) -> float:
        return self.kernel.metrics.registry.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def daemon(aws_env: dict[str, str]) -> AsyncIterator[Callable[[], Awaitable[Daemon]]]:
    """`await daemon()` -> the scheduling capability wired as app.py does, as the leader; a
    second one is a restart: nothing carries over but AWS."""
    del aws_env
    async with AsyncExitStack() as stack:

        async def make() -> Daemon:
            settings = settings_for([HOURLY], organization={"role_arn_template": TEMPLATE})
            metrics = Metrics(CollectorRegistry())
            clients = await stack.enter_async_context(
                AwsClients(settings.aws, settings.region, metrics))
            kernel = build_kernel(settings, clients, metrics, FakeClock(SLOT))
            kernel.leadership.set(True)
            return Daemon(wire(settings, clients, kernel), kernel)

        yield make


def slot_backups(*names: str) -> list[str]:
    return sorted(f"backupd-hourly-202611240500@{name}" for name in names)


async def test_one_backup_per_table_in_each_member_account_through_its_role(
        accounts: dict[str, Any], daemon: Callable[[], Awaitable[Daemon]]) -> None:
    first = await daemon()
    assert sorted(first.scheduling.accounts) == [A, B]
    published: list[BackupCompleted] = []

    async def seen(item: BackupCompleted) -> None:
        published.append(item)

    first.kernel.bus.subscribe(seen)
    await first.tick(SLOT + timedelta(seconds=5))
    await first.tick(SLOT + timedelta(minutes=1))
    # one backup per selected table in each account; yesterday's pruned (keep_last 1)
    assert backups(accounts[A]) == slot_backups("orders-a", "orders-shared")
    assert backups(accounts[B]) == slot_backups("orders-shared")
    # the own account is not listed: neither backed up nor pruned
    assert backups(accounts["own"]) == [f"{OLD}@orders-shared"]
    for account, tables_done in ((A, 2), (B, 1)):
        assert first.metric("backupd_scheduled_backups_total", schedule=f"hourly@{account}",
                            engine="dynamodb", outcome="completed") == tables_done
        assert first.metric("backupd_retention_deletions_total", schedule=f"hourly@{account}",
                            outcome="deleted") == 1
    assert first.metric("backupd_scheduled_backups_total", schedule="hourly",
                        engine="dynamodb", outcome="completed") == 0
    await first.kernel.bus.drain()
    # each completion names the member's table, whose ARN names its account
    assert sorted(item.resource_arn for item in published) == sorted(
        accounts[account].describe_table(TableName=name)["Table"]["TableArn"]
        for account, name in ((A, "orders-a"), (A, "orders-shared"), (B, "orders-shared")))
    assert all(arns.table_arn(item.recovery_point_arn) == item.resource_arn
               and item.region == "us-east-1" for item in published)
    schedules = first.kernel.board.snapshot()["schedules"]
    assert set(schedules) == {f"hourly@{A}", f"hourly@{B}"}

    restarted = await daemon()
    await restarted.tick(SLOT + timedelta(minutes=2))
    assert backups(accounts[A]) == slot_backups("orders-a", "orders-shared")
    assert backups(accounts[B]) == slot_backups("orders-shared")
    assert restarted.metric("backupd_scheduled_backups_total", schedule=f"hourly@{A}",
                            engine="dynamodb", outcome="started") == 0


async def test_a_member_whose_role_is_refused_is_skipped_and_reported_the_other_served(
        accounts: dict[str, Any], daemon: Callable[[], Awaitable[Daemon]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = AwsClients.sts

    async def sts(self: AwsClients) -> Any:
        return RefusingSts(await real(self), {B})

    monkeypatch.setattr(AwsClients, "sts", sts)
    served = await daemon()
    with capture_logs() as logs:
        await served.tick(SLOT + timedelta(seconds=5))
    assert backups(accounts[A]) == slot_backups("orders-a", "orders-shared")
    assert backups(accounts[B]) == [f"{OLD}@orders-shared"], "B untouched, not pruned"
    assert list(served.skipped) == [B]
    assert f"account {B}: its role {TEMPLATE.format(account=B)}" in served.skipped[B]
    failed = [line for line in logs if line["event"] == "account.role_failed"]
    assert [line["account"] for line in failed] == [B]
    assert [r.alert.event for r in served.kernel.alerts.recent] == ["account.role_failed"]
    assert served.metric("backupd_account_session_up", account=B) == 0
    assert "AccessDenied" in served.kernel.board.snapshot()["member_accounts"][B]


async def test_every_log_line_of_a_member_accounts_component_names_the_account() -> None:
    class Discovery:
        name = "table-discovery"

        async def run(self, stop: asyncio.Event) -> None:
            structlog.get_logger().warning("discovery.failed")
            stop.set()

    component = InAccount(Discovery(), B)
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await component.run(asyncio.Event())
    assert component.name == f"table-discovery:{B}"
    assert [(line["event"], line["account"]) for line in logs] == [("discovery.failed", B)]


async def test_a_members_missed_slot_is_alerted_under_its_account(
        accounts: dict[str, Any], daemon: Callable[[], Awaitable[Daemon]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    del accounts

    async def refused(*_: Any) -> Any:
        raise ClientError({"Error": {"Code": "LimitExceededException", "Message": "busy"}},
                          "CreateBackup")

    monkeypatch.setattr(NativeEngine, "start", refused)
    served = await daemon()
    await served.tick(SLOT + timedelta(seconds=5))
    await served.tick(SLOT + timedelta(minutes=61))
    missed = sorted((r.alert.body["schedule"], r.alert.subject)
                    for r in served.kernel.alerts.recent if r.alert.event == "backup_missed")
    assert [schedule for schedule, _ in missed] == [f"hourly@{A}", f"hourly@{B}"]
    assert missed[0][1].startswith(f"Backups missed: hourly@{A} slot 2026-11-24 05:00 UTC")


async def test_each_members_freshness_is_tracked_under_its_account(
        accounts: dict[str, Any], daemon: Callable[[], Awaitable[Daemon]]) -> None:
    """Seeded from the member's own listings through its role, moved by the member's
    completions only (A's orders-shared backed up does not freshen B's), and exported as
    `<schedule>@<account>` in the metrics, CloudWatch datums and /status."""
    del accounts
    served = await daemon()
    trackers = {account: unit.freshness for account, unit in served.scheduling.accounts.items()}
    assert set(trackers) == {A, B}
    for unit in served.scheduling.accounts.values():
        await unit.catalog.run_once()
        assert unit.freshness is not None
        await unit.freshness.seed()
    without = "backupd_schedule_tables_without_backup"
    assert served.metric(without, schedule=f"hourly@{A}") == 1, "orders-a has none yet"
    assert served.metric(without, schedule=f"hourly@{B}") == 0
    await served.tick(SLOT + timedelta(seconds=5))
    await served.kernel.bus.drain()
    assert served.metric(without, schedule=f"hourly@{A}") == 0, "moved by A's completion"
    assert served.metric("backupd_schedule_late_tables", schedule=f"hourly@{A}") == 0
    section = served.kernel.board.snapshot()["member_freshness"]
    assert set(section) == {A, B}
    assert set(section[A]["schedules"]) == {f"hourly@{A}"}
    assert section[A]["schedules"][f"hourly@{A}"]["tables"] == 2
    own = served.scheduling.freshness
    await served.scheduling.catalog.run_once()
    await own.seed()  # the datums wait for the own account's seed
    dims = {tuple((d["Name"], d["Value"]) for d in item.get("Dimensions", []))
            for item in own.datums(SLOT)}
    assert (("Schedule", f"hourly@{A}"),) in dims
    assert (("Schedule", f"hourly@{B}"),) in dims


async def test_a_members_completion_does_not_freshen_another_accounts_table(
        accounts: dict[str, Any], daemon: Callable[[], Awaitable[Daemon]]) -> None:
    del accounts
    served = await daemon()
    b = served.scheduling.accounts[B]
    await b.catalog.run_once()
    assert b.freshness is not None
    await b.freshness.seed()
    before = b.freshness.book.get("orders-shared")
    for name in ("orders-shared", "orders-a"):  # one B has too, one B does not know
        a_table = f"arn:aws:dynamodb:us-east-1:{A}:table/{name}"
        served.kernel.bus.publish(BackupCompleted(
            recovery_point_arn=f"{a_table}/backup/01", resource_arn=a_table,
            resource_type="DynamoDB", created=SLOT + timedelta(days=30), origin="event",
            region="us-east-1"))
    await served.kernel.bus.drain()
    assert b.freshness.book.get("orders-shared") == before
    assert b.freshness.book.get("orders-a") is None
