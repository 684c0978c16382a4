"""Restore rotation end to end over HTTP against the stand-in: native and AWS Backup restores,
de-duplication, rotation, and a restart in the middle of each (finished, not repeated)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from daemon.kernel.bus import BackupCompleted
from daemon.tasks.restore_aws import RestoreAws
from tests.fixtures.standin import boto3_client
from tests.tasks.conftest import halt, settings_with, wait_until

pytestmark = pytest.mark.e2e
SSM = "/staging/orders-table-arn"
AT = datetime(2026, 11, 24, 5, 0, 7, tzinfo=UTC)
TARGET = "orders-staging-20261124-05-00-07"
ITEMS = [{"pk": f"order-{i}", "total": i} for i in range(5)]


def rule(**extra: Any) -> dict[str, Any]:
    return {"name": "staging", "source_pattern": "(?i)-production$", "replacement": "-staging",
            "ssm_parameter": SSM, "keep_last": 2,
            "validate": {"min_items": 5, "sample_reads": 3}, **extra}


def completed(backup_arn: str, table_arn: str, at: datetime = AT) -> BackupCompleted:
    return BackupCompleted(recovery_point_arn=backup_arn, resource_arn=table_arn,
                           resource_type="DynamoDB", created=at, origin="scheduler")


def tags_of(ddb: Any, name: str) -> dict[str, str]:
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    pages = ddb.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn)
    return {t["Key"]: t["Value"] for page in pages for t in page["Tags"]}


def daily_backups(orders: dict[str, Any], days: int) -> list[tuple[datetime, str]]:
    """`days` native backups of orders-production, as (time, ARN) one day apart up to
    yesterday, oldest first."""
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(days=days)
    return [(first + timedelta(days=day), orders["ddb"].create_backup(
        TableName="orders-production", BackupName=f"backup-{day}")["BackupDetails"]["BackupArn"])
        for day in range(days)]


@pytest.fixture
def orders(make_table: Any, fresh_standin: Any) -> dict[str, Any]:
    """orders-production with items and one native backup of it."""
    table = make_table("orders-production", items=ITEMS)
    ddb = boto3_client(fresh_standin, "dynamodb")
    backup = ddb.create_backup(TableName=table.name, BackupName="backup-1")["BackupDetails"]
    return {"table": table, "backup": backup["BackupArn"], "ddb": ddb,
            "ssm": boto3_client(fresh_standin, "ssm")}


async def test_a_native_backup_becomes_a_validated_staging_table_and_moves_ssm(
        daemon: Any, orders: dict[str, Any]) -> None:
    instance = await daemon(settings_with(restores=[rule()]), http=True)
    instance.kernel.bus.publish(completed(orders["backup"], orders["table"].arn))
    await instance.settle()

    ddb = orders["ddb"]
    table = ddb.describe_table(TableName=TARGET)["Table"]
    assert orders["ssm"].get_parameter(Name=SSM)["Parameter"]["Value"] == table["TableArn"]
    assert ddb.scan(TableName=TARGET, Select="COUNT")["Count"] == len(ITEMS)
    tags = tags_of(ddb, TARGET)
    assert (tags["backupd:state"], tags["backupd:rule"], tags["backupd:source-backup"]) == (
        "done", "staging", orders["backup"])
    assert instance.tasks_total("restore", "succeeded") == 1
    assert instance.http is not None
    async with aiohttp.ClientSession() as http, \
            http.get(f"http://127.0.0.1:{instance.http.port}/status") as resp:
        status = await resp.json()
    [recent] = status["tasks"]["recent"]
    assert (recent["kind"], recent["state"], recent["phase"], recent["facts"]["target"]) == (
        "restore", "succeeded", "rotating", TARGET)


async def test_the_same_backup_completing_twice_restores_once(
        daemon: Any, orders: dict[str, Any]) -> None:
    """Events are at-least-once: the second one finds the tagged copy and skips."""
    instance = await daemon(settings_with(restores=[rule()]))
    event = completed(orders["backup"], orders["table"].arn)
    instance.kernel.bus.publish(event)
    await instance.settle()
    instance.kernel.bus.publish(event)
    await instance.settle()
    restarted = await daemon(settings_with(restores=[rule()]))
    restarted.kernel.bus.publish(event)
    await restarted.settle()
    assert instance.calls("RestoreTableFromBackup") + restarted.calls(
        "RestoreTableFromBackup") == 1
    assert instance.tasks_total("restore", "skipped") + restarted.tasks_total(
        "restore", "skipped") == 2


async def test_rotation_keeps_the_newest_copies_and_never_a_foreign_table(
        daemon: Any, orders: dict[str, Any], make_table: Any) -> None:
    foreign = make_table("orders-staging-20261101-05-00-00")
    instance = await daemon(settings_with(restores=[rule(validate=None)]))
    names = []
    for at, backup in daily_backups(orders, 3):
        names.append(f"orders-staging-{at:%Y%m%d-%H-%M-%S}")
        instance.kernel.bus.publish(completed(backup, orders["table"].arn, at))
        await instance.settle()
    left = set(orders["ddb"].list_tables()["TableNames"])
    assert names[0] not in left
    assert {names[1], names[2], foreign.name} <= left
    value = orders["ssm"].get_parameter(Name=SSM)["Parameter"]["Value"]
    assert value.endswith(f"table/{names[2]}")
    age = instance.kernel.metrics.registry.get_sample_value(
        "backupd_restored_copy_age_seconds", {"rule": "staging"})
    assert age is not None
    assert 86400 <= age < 2 * 86400  # the newest copy's backup is a day old


async def test_rotations_running_at_once_agree_and_none_fails(
        daemon: Any, orders: dict[str, Any]) -> None:
    """A burst of completions restores in parallel and finishes in any order: two rotations
    may delete the same table (the second finds it gone, and succeeds), and a copy that
    finishes after a newer one neither takes the SSM parameter nor stays."""
    instance = await daemon(settings_with(restores=[rule(validate=None, keep_last=1)]))
    names = []
    for at, backup in daily_backups(orders, 4):
        names.append(f"orders-staging-{at:%Y%m%d-%H-%M-%S}")
        instance.kernel.bus.publish(completed(backup, orders["table"].arn, at))
    await instance.settle()
    assert instance.tasks_total("restore", "failed") == 0
    assert instance.tasks_total("restore", "succeeded") == 4
    left = {n for n in orders["ddb"].list_tables()["TableNames"]
            if n.startswith("orders-staging-")}
    assert left == {names[3]}
    # whatever order the restores finished in, the parameter never went back to an older copy
    value = orders["ssm"].get_parameter(Name=SSM)["Parameter"]["Value"]
    assert value.endswith(f"table/{names[3]}")


async def test_deleting_a_copy_that_is_gone_already_is_not_an_error(
        daemon: Any, orders: dict[str, Any], make_table: Any) -> None:
    instance = await daemon(settings_with(restores=[rule()]))
    aws = RestoreAws(instance.aws.dynamodb, instance.aws.backup, instance.aws.ssm,
                     restore_role_arn=None)
    copy = make_table("orders-staging-20261101-05-00-00")
    assert await aws.delete_table(copy.name) is True
    assert await aws.delete_table(copy.name) is False  # not an error: someone got there first


async def test_a_restore_interrupted_in_the_middle_is_finished_after_a_restart(
        daemon: Any, orders: dict[str, Any]) -> None:
    first = await daemon(settings_with(restores=[rule()]))
    hit = first.interrupt_at("waiting_active")
    first.kernel.bus.publish(completed(orders["backup"], orders["table"].arn))
    await first.settle()
    assert hit.is_set()
    await halt(first)
    assert tags_of(orders["ddb"], TARGET)["backupd:state"] == "restoring"
    with pytest.raises(orders["ssm"].exceptions.ParameterNotFound):
        orders["ssm"].get_parameter(Name=SSM)

    second = await daemon(settings_with(restores=[rule()]))
    await wait_until(lambda: second.tasks_total("restore", "succeeded"))
    assert tags_of(orders["ddb"], TARGET)["backupd:state"] == "done"
    assert orders["ssm"].get_parameter(Name=SSM)["Parameter"]["Value"].endswith(TARGET)
    assert first.calls("RestoreTableFromBackup") == 1
    assert second.calls("RestoreTableFromBackup") == 0


async def test_a_failed_validation_keeps_the_ssm_parameter_and_alerts(
        daemon: Any, orders: dict[str, Any]) -> None:
    instance = await daemon(settings_with(restores=[rule(validate={"min_items": 50})]))
    instance.kernel.bus.publish(completed(orders["backup"], orders["table"].arn))
    await instance.settle()
    assert instance.tasks_total("restore", "failed") == 1
    assert tags_of(orders["ddb"], TARGET)["backupd:state"] == "failed"
    with pytest.raises(orders["ssm"].exceptions.ParameterNotFound):
        orders["ssm"].get_parameter(Name=SSM)
    alert = await wait_until(lambda: list(instance.kernel.alerts.sent))
    assert alert[0].event == "restore_failed"
    assert "fewer than min_items 50" in alert[0].body["error"]


async def test_a_restore_reads_each_older_copy_once(
        daemon: Any, orders: dict[str, Any]) -> None:
    """Checking for a newer copy before the restore reads only copies named after a newer
    backup; the older copies are read once, by the rotation step."""
    instance = await daemon(settings_with(restores=[rule(validate=None, keep_last=10)]))
    backups = daily_backups(orders, 5)
    for at, backup in backups[:4]:
        instance.kernel.bus.publish(completed(backup, orders["table"].arn, at))
        await instance.settle()
    before = instance.calls("ListTagsOfResource")
    at, backup = backups[4]
    instance.kernel.bus.publish(completed(backup, orders["table"].arn, at))
    await instance.settle()
    assert instance.tasks_total("restore", "succeeded") == 5
    # the new copy when restored, then it and the four older ones once, by the rotation
    assert instance.calls("ListTagsOfResource") - before == 6


async def test_a_restore_of_an_older_backup_than_a_finished_copy_is_skipped(
        daemon: Any, orders: dict[str, Any]) -> None:
    instance = await daemon(settings_with(restores=[rule(validate=None)]))
    (old_at, old), (new_at, new) = daily_backups(orders, 2)
    instance.kernel.bus.publish(completed(new, orders["table"].arn, new_at))
    await instance.settle()
    instance.kernel.bus.publish(completed(old, orders["table"].arn, old_at))
    await instance.settle()
    left = {n for n in orders["ddb"].list_tables()["TableNames"]
            if n.startswith("orders-staging-")}
    assert left == {f"orders-staging-{new_at:%Y%m%d-%H-%M-%S}"}
    value = orders["ssm"].get_parameter(Name=SSM)["Parameter"]["Value"]
    assert value.endswith(f"table/orders-staging-{new_at:%Y%m%d-%H-%M-%S}")


async def test_a_backup_in_another_vault_or_account_triggers_no_restore(
        daemon: Any, orders: dict[str, Any]) -> None:
    rules = [rule(validate=None, vaults=["ops"], accounts=[orders["table"].arn.split(":")[4]])]
    instance = await daemon(settings_with(restores=rules))
    event = completed(orders["backup"], orders["table"].arn)
    for vault in ("dev", None):
        instance.kernel.bus.publish(replace(event, vault=vault))
    await instance.settle()
    assert instance.calls("RestoreTableFromBackup") == 0
    other = [rule(validate=None, vaults=["ops"], accounts=["444455556666"])]
    elsewhere = await daemon(settings_with(restores=other))
    elsewhere.kernel.bus.publish(replace(event, vault="ops"))
    await elsewhere.settle()
    assert elsewhere.calls("RestoreTableFromBackup") == 0

    instance.kernel.bus.publish(replace(event, vault="ops"))
    await instance.settle()
    assert instance.tasks_total("restore", "succeeded") == 1
    assert TARGET in orders["ddb"].list_tables()["TableNames"]


async def test_keep_last_null_keeps_every_restored_copy(
        daemon: Any, orders: dict[str, Any]) -> None:
    instance = await daemon(settings_with(restores=[rule(validate=None, keep_last=None)]))
    names = []
    for at, backup in daily_backups(orders, 3):
        names.append(f"orders-staging-{at:%Y%m%d-%H-%M-%S}")
        instance.kernel.bus.publish(completed(backup, orders["table"].arn, at))
        await instance.settle()
    assert set(names) <= set(orders["ddb"].list_tables()["TableNames"])
    assert instance.calls("DeleteTable") == 0
    value = orders["ssm"].get_parameter(Name=SSM)["Parameter"]["Value"]
    assert value.endswith(f"table/{names[2]}")
