"""Where a restore or an export acts (tasks/accounts.py), and the roles it passes there: the
backup's own account, a member's through its role, skipped without one; `{account}` in a
StartRestoreJob or an RDS export role is the account the task runs in."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from daemon.aws.accounts import MemberSessions
from daemon.aws.session import AwsClients, CallerAccount
from daemon.config.tasks import ExportRule, RestoreRule
from daemon.core.tasks.restore_triggers import RestorePlan
from daemon.tasks.accounts import AccountUnavailable, Place, TaskAccounts
from daemon.tasks.restore_aws import RestoreAws

HOME, MEMBER = "123456789012", "222222222222"
TABLE = "arn:aws:dynamodb:us-east-1:{}:table/orders-production"
POINT = "arn:aws:backup:us-east-1:{}:recovery-point:1"


class Sts:
    def __init__(self) -> None:
        self.asked = 0

    async def get_caller_identity(self) -> dict[str, str]:
        self.asked += 1
        return {"Account": HOME}


class Clients:
    """The shared clients' STS, asked for the own account."""

    def __init__(self) -> None:
        self.sts_client = Sts()
        self.identity = CallerAccount(self.sts)  # type: ignore[arg-type]

    async def sts(self) -> Sts:
        return self.sts_client


class Members:
    """Member sessions whose roles in `refused` cannot be assumed."""

    def __init__(self, refused: set[str]) -> None:
        self.refused = refused

    async def home(self) -> str:
        return HOME

    def role_arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:role/ddb-backupd-target"

    async def dynamodb(self, account: str) -> str | None:
        return None if account in self.refused else f"dynamodb@{account}"


def accounts(members: Members | None = None) -> tuple[TaskAccounts, Clients]:
    clients = Clients()
    return TaskAccounts(cast("AwsClients", clients), cast("MemberSessions | None", members),
                        retry_seconds=60), clients


async def test_without_roles_only_the_own_account_is_acted_in_and_others_say_why() -> None:
    found, clients = accounts()
    assert await found.place(TABLE.format(HOME)) == Place(None)
    other = await found.place(TABLE.format(MEMBER))
    assert other.account == MEMBER
    assert other.skipped == (f"account {MEMBER} is not the daemon's own ({HOME}) and "
                             "organization.role_arn_template is unset: the daemon cannot act "
                             "there")
    assert await found.place("not an arn", POINT.format(MEMBER)) == other
    assert await found.place(None) == Place(None)
    assert clients.sts_client.asked == 1, "the own account is asked once"


async def test_with_roles_a_member_is_acted_in_and_a_refused_role_is_a_retry() -> None:
    found, _ = accounts(Members({"444444444444"}))
    assert await found.place(TABLE.format(MEMBER)) == Place(MEMBER)
    assert await found.place(TABLE.format(HOME)) == Place(None)
    assert await found.dynamodb(MEMBER)() == f"dynamodb@{MEMBER}"
    with pytest.raises(AccountUnavailable) as refused:
        await found.dynamodb("444444444444")()
    assert str(refused.value).startswith(
        "account 444444444444: its role arn:aws:iam::444444444444:role/ddb-backupd-target "
        "cannot be assumed now")
    assert refused.value.seconds == 60


class Backup:
    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []

    async def start_restore_job(self, **call: Any) -> dict[str, str]:
        self.started.append(call)
        return {"RestoreJobId": "job-1"}


@pytest.mark.parametrize(("account", "expected"), [(MEMBER, MEMBER), (None, HOME)])
async def test_a_restore_role_naming_the_account_is_the_one_of_the_account_restored_in(
        account: str | None, expected: str) -> None:
    backup = Backup()

    async def connect() -> Any:
        return backup

    async def home() -> str:
        return HOME

    aws = RestoreAws(connect, connect, connect, account=account, home=home,
                     restore_role_arn="arn:aws:iam::{account}:role/backup-restore")
    rule = RestoreRule(name="qa", source_pattern="-production$", replacement="-qa")
    plan = RestorePlan("qa", "orders-production", POINT.format(expected),
                       datetime(2026, 11, 24, 5, tzinfo=UTC), "orders-qa-20261124-05-00-00",
                       "aws-backup")
    assert await aws.start_restore_job(plan, rule) == "job-1"
    [call] = backup.started
    assert call["IamRoleArn"] == f"arn:aws:iam::{expected}:role/backup-restore"


def test_an_rds_export_role_and_key_naming_the_account_are_the_members() -> None:
    rule = ExportRule(name="rds", kind="rds", source_pattern="^billing$", bucket="central",
                      iam_role_arn="arn:aws:iam::{account}:role/export",
                      kms_key_id="arn:aws:kms:us-east-1:{account}:key/k")
    assert rule.rds_access(MEMBER) == (f"arn:aws:iam::{MEMBER}:role/export",
                                       f"arn:aws:kms:us-east-1:{MEMBER}:key/k")
