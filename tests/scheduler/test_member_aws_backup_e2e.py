"""aws-backup schedules in member accounts, end to end on the stand-in: each member's
StartBackupJob goes through that account's role, into its vault, with its backup role and
its table's ARN; its recovery points are pruned there; a restart starts none again; a member
whose role is refused is skipped while the other is served."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from daemon.app import build_kernel
from daemon.aws.session import AwsClients
from daemon.core.clock import FakeClock
from daemon.core.scheduling.inventory import TAG_SCHEDULE, TAG_SLOT
from daemon.kernel.member_clients import AccountUnavailableError
from daemon.obs.metrics import Metrics
from daemon.scheduling.wire import Scheduling, wire
from tests.fixtures.roles import RefusingSts
from tests.fixtures.standin import member_client
from tests.scheduler.conftest import settings_for

pytestmark = pytest.mark.e2e
A, B = "222222222222", "444444444444"
TEMPLATE = "arn:aws:iam::{account}:role/ddb-backupd-target"
BACKUP_ROLE = "arn:aws:iam::{account}:role/backup"
VAULT = "backups"
OLD_DAYS = [datetime(2026, 11, d, 5, tzinfo=UTC) for d in (20, 21, 22)]


def client(standin: Any, service: str, account: str | None) -> Any:
    """A client of `account` through its assumed role (None: the daemon's own)."""
    return member_client(standin, service, account, role_arn_template=TEMPLATE)


def recent_slot() -> tuple[str, datetime]:
    """A daily cron() whose last slot was two minutes ago (jobs get real creation times)."""
    slot = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    return f"cron({slot.minute} {slot.hour} * * ? *)", slot


@pytest.fixture
def estate(fresh_standin: Any, backup_fake: Any) -> dict[str | None, str]:
    """Own account and members A, B: each a vault `backups` and one orders table (its ARN
    returned), each member with three old recovery points of the schedule; jobs stay
    RUNNING, so the only recovery points are those."""
    backup_fake.configure(duration_seconds=3600.0)
    arns: dict[str | None, str] = {}
    for account, table in ((None, "orders-own"), (A, "orders-a"), (B, "orders-b")):
        client(fresh_standin, "backup", account).create_backup_vault(BackupVaultName=VAULT)
        arns[account] = client(fresh_standin, "dynamodb", account).create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )["TableDescription"]["TableArn"]
        if account is not None:
            for day in OLD_DAYS:  # jobs of now, by another role: not this slot's
                backup_fake.inject_job(arns[account], VAULT, state="COMPLETED",
                                       recovery_point_tags={TAG_SCHEDULE: "nightly",
                                                            TAG_SLOT: day.isoformat()})
    return arns


@pytest.fixture
async def daemon(aws_env: dict[str, str]) -> AsyncIterator[Callable[[], Awaitable[Scheduling]]]:
    """`await daemon()` -> the scheduling capability as app.py wires it, leading; a second
    one is a restart."""
    del aws_env
    async with AsyncExitStack() as stack:

        async def make() -> Scheduling:
            expression, _ = recent_slot()
            schedule = {"name": "nightly", "expression": expression, "tables": ["orders-*"],
                        "engine": "aws-backup", "backup_vault": VAULT,
                        "iam_role_arn": BACKUP_ROLE, "start_window_minutes": 120,
                        "accounts": [A, B], "retention": {"keep_last": 1}}
            settings = settings_for([schedule], organization={"role_arn_template": TEMPLATE})
            metrics = Metrics(CollectorRegistry())
            clients = await stack.enter_async_context(
                AwsClients(settings.aws, settings.region, metrics))
            kernel = build_kernel(settings, clients, metrics, FakeClock(datetime.now(UTC)))
            kernel.leadership.set(True)
            return wire(settings, clients, kernel)

        yield make


async def tick(scheduling: Scheduling) -> dict[str, str]:
    """Discovery, a scheduler pass and a retention pass in every member account; the
    accounts skipped (their role refused), and why."""
    skipped: dict[str, str] = {}
    for account, unit in scheduling.accounts.items():
        try:
            await unit.catalog.run_once()
        except AccountUnavailableError as exc:
            skipped[account] = str(exc)
            continue
        now = datetime.now(UTC)
        await unit.scheduler.run_once(now)
        await unit.retention.run_once(now)
    return skipped


def started(backup_fake: Any) -> list[Any]:
    """Jobs the daemon started (not the injected ones)."""
    return [j for j in backup_fake.jobs() if j.idempotency_token]


def slots_left(standin: Any, account: str) -> list[str]:
    backup = client(standin, "backup", account)
    points = backup.list_recovery_points_by_backup_vault(BackupVaultName=VAULT)["RecoveryPoints"]
    return sorted(backup.list_tags(ResourceArn=p["RecoveryPointArn"])["Tags"][TAG_SLOT]
                  for p in points)


async def test_one_job_per_member_table_through_its_role_into_its_vault(
        estate: dict[str | None, str], daemon: Callable[[], Awaitable[Scheduling]],
        backup_fake: Any, fresh_standin: Any) -> None:
    first = await daemon()
    assert await tick(first) == {}
    jobs = {j.account: j for j in started(backup_fake)}
    assert sorted(jobs) == [A, B], "one job per member account, none in the own"
    for account, job in jobs.items():
        assert job.resource_arn == estate[account]
        assert job.vault_arn == f"arn:aws:backup:us-east-1:{account}:backup-vault:{VAULT}"
        assert job.iam_role_arn == BACKUP_ROLE.format(account=account)
        assert job.recovery_point_tags[TAG_SCHEDULE] == "nightly"
    # retention pruned each member's old recovery points down to the newest (keep_last 1)
    for account in (A, B):
        assert slots_left(fresh_standin, account) == [OLD_DAYS[-1].isoformat()]
    assert client(fresh_standin, "backup", None).list_backup_jobs()["BackupJobs"] == []

    restarted = await daemon()
    await tick(restarted)
    assert len(started(backup_fake)) == 2, "the restart read each member's job back"


async def test_a_refused_role_skips_only_that_member(
        estate: dict[str | None, str], daemon: Callable[[], Awaitable[Scheduling]],
        backup_fake: Any, fresh_standin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    del estate
    real = AwsClients.sts

    async def sts(self: AwsClients) -> Any:
        return RefusingSts(await real(self), {B})

    monkeypatch.setattr(AwsClients, "sts", sts)
    served = await daemon()
    skipped = await tick(served)
    assert list(skipped) == [B]
    assert [j.account for j in started(backup_fake)] == [A]
    assert slots_left(fresh_standin, A) == [OLD_DAYS[-1].isoformat()]
    assert len(slots_left(fresh_standin, B)) == len(OLD_DAYS), "B untouched"
