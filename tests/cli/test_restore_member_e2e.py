"""`ddb-backupd restore` in a member account, end to end against the stand-in: the backup is
found, restored, waited on and published in the member through its assumed role (moto derives
the account from the role's credentials), never in the daemon's own account; the options
that cannot work are refused before any restore."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.aws.session import AwsClients
from tests.cli.test_restore_e2e import phase
from tests.fixtures.roles import RefusingSts
from tests.fixtures.standin import boto3_client
from tests.tasks.test_member_accounts_e2e import in_account, source_table

pytestmark = pytest.mark.e2e
A = "222222222222"
TEMPLATE = "arn:aws:iam::{account}:role/ddb-backupd-target"
ROLES = {"organization": {"role_arn_template": TEMPLATE}}


@pytest.fixture
def member(fresh_standin: Any) -> dict[str, Any]:
    """orders in member A with two native backups there (the second the newest), and
    clients of A and of the own account."""
    ddb = in_account(fresh_standin, A, "dynamodb")
    source_table(ddb, "orders")
    backups = [ddb.create_backup(TableName="orders", BackupName=f"b-{i}")["BackupDetails"]
               for i in range(2)]
    return {"ddb": ddb, "ssm": in_account(fresh_standin, A, "ssm"), "backups": backups,
            "own": boto3_client(fresh_standin, "dynamodb"),
            "own_ssm": boto3_client(fresh_standin, "ssm")}


def test_the_latest_backup_of_a_members_table_is_restored_and_published_there(
        cli: Any, member: dict[str, Any]) -> None:
    code, lines = cli("--table", "orders", "--latest", "--account", A,
                      "--ssm-parameter", "/qa/{table}-arn", config=ROLES)
    assert code == 0, lines
    found = phase(lines, "found")
    assert found["source"] == member["backups"][-1]["BackupArn"]
    assert found["account"] == A
    target = phase(lines, "done")["target"]
    table = member["ddb"].describe_table(TableName=target)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["TableArn"].split(":")[4] == A
    assert member["ssm"].get_parameter(Name="/qa/orders-arn")["Parameter"]["Value"] == \
        table["TableArn"]
    assert target not in member["own"].list_tables()["TableNames"]
    with pytest.raises(member["own_ssm"].exceptions.ParameterNotFound):
        member["own_ssm"].get_parameter(Name="/qa/orders-arn")


def test_a_members_backup_arn_is_restored_in_the_account_it_names(
        cli: Any, member: dict[str, Any]) -> None:
    arn = member["backups"][0]["BackupArn"]
    code, lines = cli("--recovery-point", arn, "--target", "orders-copy", "--wait",
                      config=ROLES)
    assert code == 0, lines
    assert phase(lines, "found")["account"] == A
    assert member["ddb"].describe_table(TableName="orders-copy")["Table"]["RestoreSummary"][
        "SourceBackupArn"] == arn
    assert "orders-copy" not in member["own"].list_tables()["TableNames"]


def test_a_member_account_without_a_role_template_is_refused(
        cli: Any, member: dict[str, Any]) -> None:
    code, lines = cli("--table", "orders", "--latest", "--account", A)
    assert code == 2
    assert "role_arn_template" in lines[-1]["reason"]
    assert A in lines[-1]["reason"]


def test_an_account_other_than_the_recovery_points_is_refused(
        cli: Any, member: dict[str, Any]) -> None:
    code, lines = cli("--recovery-point", member["backups"][0]["BackupArn"],
                      "--account", "444444444444", config=ROLES)
    assert code == 2
    assert f"is in account {A}" in lines[-1]["reason"]


def test_a_members_role_that_cannot_be_assumed_exits_4_naming_it(
        cli: Any, member: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    real = AwsClients.sts

    async def sts(self: AwsClients) -> Any:
        return RefusingSts(await real(self), {A})

    monkeypatch.setattr(AwsClients, "sts", sts)
    code, lines = cli("--table", "orders", "--latest", "--account", A, "--wait",
                      config=ROLES)
    assert code == 4
    reason = lines[-1]["reason"]
    assert A in reason
    assert "AccessDenied" in reason or "not authorized" in reason
    assert member["ddb"].list_tables()["TableNames"] == ["orders"]


@pytest.mark.parametrize("account", ["12345", "abcdefghijkl"])
def test_an_account_that_is_not_12_digits_exits_2(cli: Any, account: str) -> None:
    code, lines = cli("--table", "orders", "--latest", "--account", account)
    assert code == 2
    assert lines == []
