"""`ddb-backupd restore` end to end against the stand-in: each source, each naming, each exit.

The command runs in-process (`main([...])`) with the environment pointing at the stand-in;
its stdout is JSON lines, read back here phase by phase.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fixtures.standin import boto3_client

pytestmark = pytest.mark.e2e
ROLE = "arn:aws:iam::123456789012:role/backup-restore"
ITEMS = [{"pk": f"order-{i}"} for i in range(3)]


def phase(lines: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(line for line in lines if line["phase"] == name)


@pytest.fixture
def orders(make_table: Any, fresh_standin: Any) -> dict[str, Any]:
    """orders with items and two native backups (the second is the newest)."""
    table = make_table("orders", items=ITEMS)
    ddb = boto3_client(fresh_standin, "dynamodb")
    arns = [ddb.create_backup(TableName="orders", BackupName=f"backup-{i}")["BackupDetails"]
            for i in range(2)]
    return {"table": table, "ddb": ddb, "backups": arns, "ssm": boto3_client(fresh_standin, "ssm")}


def test_the_latest_native_backup_is_restored_active_and_published_to_ssm(
        cli: Any, orders: dict[str, Any]) -> None:
    newest = orders["backups"][-1]
    code, lines = cli("--table", "orders", "--latest", "--ssm-parameter", "/qa/{table}-arn")
    assert code == 0, lines
    created = newest["BackupCreationDateTime"].astimezone(UTC)
    target = f"orders-restored-{created:%Y%m%d-%H-%M-%S}"
    assert phase(lines, "found")["source"] == newest["BackupArn"]
    assert phase(lines, "target") | {"time": None} == {
        "phase": "target", "target": target, "naming": "default", "time": None}
    table = orders["ddb"].describe_table(TableName=target)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert orders["ssm"].get_parameter(Name="/qa/orders-arn")["Parameter"]["Value"] == \
        table["TableArn"]
    assert [line["phase"] for line in lines][-3:] == ["active", "ssm", "done"]


def test_a_matching_restore_rule_names_the_target_and_says_so(
        cli: Any, orders: dict[str, Any]) -> None:
    rule = {"name": "qa", "source_pattern": "^orders$", "replacement": "orders-qa"}
    code, lines = cli("--recovery-point", orders["backups"][0]["BackupArn"], "--wait",
                      config={"restores": [rule]})
    assert code == 0, lines
    target = phase(lines, "target")
    assert target["naming"] == "rule qa"
    assert target["target"].startswith("orders-qa-")
    assert orders["ddb"].describe_table(TableName=target["target"])["Table"]["TableStatus"] \
        == "ACTIVE"


def test_running_again_waits_for_the_same_table_instead_of_failing(
        cli: Any, orders: dict[str, Any]) -> None:
    arn = orders["backups"][0]["BackupArn"]
    assert cli("--recovery-point", arn, "--target", "orders-copy")[0] == 0
    code, lines = cli("--recovery-point", arn, "--target", "orders-copy", "--wait")
    assert code == 0, lines
    assert phase(lines, "restoring")["resumed"] is True


def test_an_aws_backup_recovery_point_is_restored_by_a_restore_job(
        cli: Any, make_table: Any, make_vault: Any, backup_fake: Any,
        fresh_standin: Any) -> None:
    table = make_table("ledger", items=ITEMS)
    backup_fake.inject_job(table.arn, make_vault("ops").name, state="COMPLETED")
    [point] = backup_fake.recovery_points()
    code, lines = cli("--table", "ledger", "--latest", "--wait",
                      config={"tasks": {"restore_role_arn": ROLE}})
    assert code == 0, lines
    assert phase(lines, "found") | {"time": None, "created": None} == {
        "phase": "found", "source": point.arn, "table": "ledger", "engine": "aws-backup",
        "vault": "ops", "time": None, "created": None}
    assert phase(lines, "restore_job")["restore_job_id"]
    [job] = backup_fake.restore_jobs()
    assert job.status == "COMPLETED"
    ddb = boto3_client(fresh_standin, "dynamodb")
    target = phase(lines, "done")["target"]
    assert ddb.describe_table(TableName=target)["Table"]["TableArn"] == job.created_resource_arn


def test_a_recovery_point_without_a_restore_role_is_a_configuration_error(
        cli: Any, make_table: Any, make_vault: Any, backup_fake: Any) -> None:
    table = make_table("ledger")
    backup_fake.inject_job(table.arn, make_vault("ops").name, state="COMPLETED")
    [point] = backup_fake.recovery_points()
    code, lines = cli("--recovery-point", point.arn)
    assert code == 2
    assert "restore_role_arn" in lines[-1]["reason"]


def test_a_failed_restore_job_is_refused(
        cli: Any, make_table: Any, make_vault: Any, backup_fake: Any) -> None:
    table = make_table("ledger")
    backup_fake.inject_job(table.arn, make_vault("ops").name, state="COMPLETED")
    [point] = backup_fake.recovery_points()
    backup_fake.plan(point.arn, state="FAILED", status_message="access denied")
    code, lines = cli("--recovery-point", point.arn, "--wait",
                      config={"tasks": {"restore_role_arn": ROLE}})
    assert code == 4
    assert lines[-1] | {"time": None} == {"phase": "error", "exit": 4, "time": None,
                                          "reason": lines[-1]["reason"]}
    assert "access denied" in lines[-1]["reason"]


@pytest.mark.parametrize("argv", [
    ["--table", "nothing-here", "--latest"],
    ["--recovery-point", ("arn:aws:dynamodb:us-east-1:123456789012:table/orders/backup/"
                         "01700000000000-deadbeef")],
    ["--recovery-point", ("arn:aws:backup:us-east-1:123456789012:recovery-point:"
                         "11111111-2222-3333-4444-555555555555")],
])
def test_a_source_that_does_not_exist_exits_3(cli: Any, orders: dict[str, Any],
                                             argv: list[str]) -> None:
    code, lines = cli(*argv)
    assert code == 3, lines
    assert lines[-1]["phase"] == "error"


def test_a_target_that_exists_already_is_refused(cli: Any, orders: dict[str, Any]) -> None:
    code, lines = cli("--table", "orders", "--latest", "--target", "orders")
    assert code == 4
    assert "exists already" in lines[-1]["reason"]


def test_a_table_not_active_within_the_timeout_exits_5(
        cli: Any, orders: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from daemon.tasks.restore_aws import RestoreAws  # noqa: PLC0415 - patched for this test

    async def creating(self: RestoreAws, name: str) -> dict[str, Any]:
        return {"TableName": name, "TableStatus": "CREATING",
                "RestoreSummary": {"SourceBackupArn": orders["backups"][0]["BackupArn"]}}

    monkeypatch.setattr(RestoreAws, "describe", creating)
    code, lines = cli("--recovery-point", orders["backups"][0]["BackupArn"], "--wait",
                      "--timeout", "0.3")
    assert code == 5
    assert "timed out" in lines[-1]["reason"]


@pytest.mark.parametrize("argv", [["--table", "orders"], ["--recovery-point", "x", "--target",
                                                          "a b c", "--timeout", "-1"]])
def test_a_wrong_command_line_exits_2(cli: Any, argv: list[str]) -> None:
    assert cli(*argv)[0] == 2


def test_an_invalid_target_name_exits_2(cli: Any, orders: dict[str, Any]) -> None:
    code, lines = cli("--table", "orders", "--latest", "--target", "no spaces allowed")
    assert code == 2
    assert "not a valid DynamoDB table name" in lines[-1]["reason"]


def test_an_unreachable_endpoint_exits_1(cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPD_AWS__ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("BACKUPD_AWS__MAX_ATTEMPTS", "1")
    monkeypatch.setenv("BACKUPD_AWS__CONNECT_TIMEOUT_SECONDS", "0.5")
    assert cli("--table", "orders", "--latest")[0] == 1


def test_the_default_name_is_the_backup_time_not_now() -> None:
    from daemon.core.tasks.on_demand import Source, choose_target  # noqa: PLC0415

    at = datetime(2026, 11, 24, 5, 0, 7, tzinfo=UTC)
    source = Source("arn:aws:dynamodb:us-east-1:1:table/t1/backup/0-a", "t1", at, "AVAILABLE")
    assert choose_target(source, []).name == "t1-restored-20261124-05-00-07"
    assert choose_target(source, [], "mine").naming == "--target"
