"""Triggers that never reached a task are caught up from AWS: a backup that completed while no
daemon was there to hear it (or whose event was consumed just before a crash) is restored and
exported at the next rescan, once; an older backup whose copy rotation removed never is."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.standin import boto3_client
from tests.tasks.conftest import Daemon, halt, settings_with, wait_until
from tests.tasks.test_exports_e2e import BUCKET, pitr_for_a_day
from tests.tasks.test_restores_e2e import ITEMS, SSM, rule, tags_of

pytestmark = pytest.mark.e2e
ROLE = "arn:aws:iam::123456789012:role/backup-restore"
NIGHTLY = {"name": "nightly", "expression": "cron(0 5 * * ? *)", "tables": ["*"]}


def export_rule() -> dict[str, Any]:
    return {"name": "orders-to-s3", "source_pattern": "^orders-production$", "bucket": BUCKET,
            "prefix": "exports"}


def settings(**extra: Any) -> Any:
    values: dict[str, Any] = {"restores": [rule()], "exports": [export_rule()],
                              "schedules": [NIGHTLY],
                              "tasks": {"restore_role_arn": ROLE, "catchup_seconds": 86400}}
    return settings_with(**{**values, **extra})


def metric(instance: Daemon, name: str, **labels: str) -> float:
    return instance.kernel.metrics.registry.get_sample_value(name, labels) or 0.0


async def rescanned(instance: Daemon, kinds: tuple[str, ...] = ("restore", "export")) -> None:
    """Wait for the first rescan of restores and of exports (its last step), then for the
    tasks they queued."""
    step = "catch_up" if instance.settings.tasks.catchup_seconds else "resume"
    assert await wait_until(lambda: all(
        metric(instance, "backupd_task_rescans_total", kind=kind, step=step, outcome="ok") >= 1
        for kind in kinds))
    await instance.settle()


@pytest.fixture
def world(fresh_standin: Any, make_table: Any, make_vault: Any) -> dict[str, Any]:
    table = make_table("orders-production", items=ITEMS, pitr=True)
    pitr_for_a_day(fresh_standin, table.name)
    s3 = boto3_client(fresh_standin, "s3")
    s3.create_bucket(Bucket=BUCKET)
    return {"table": table, "vault": make_vault("ops"), "s3": s3,
            "ddb": boto3_client(fresh_standin, "dynamodb"),
            "ssm": boto3_client(fresh_standin, "ssm")}


def done_markers(s3: Any) -> list[str]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="exports/_backupd/orders-to-s3/done/")
    return [o["Key"] for o in listed.get("Contents", [])]


async def test_a_job_that_completed_unheard_is_restored_and_exported_once(
        daemon: Any, world: dict[str, Any], backup_fake: Any) -> None:
    backup_fake.inject_job(world["table"].arn, world["vault"].name, state="COMPLETED")
    [point] = backup_fake.recovery_points()
    target = f"orders-staging-{point.creation_date:%Y%m%d-%H-%M-%S}"

    first = await daemon(settings())  # nothing is published on its bus: AWS is all it has
    await rescanned(first)
    assert tags_of(world["ddb"], target)["backupd:state"] == "done"
    [job] = backup_fake.restore_jobs()
    assert world["ssm"].get_parameter(Name=SSM)["Parameter"]["Value"] == \
        job.created_resource_arn
    assert len(done_markers(world["s3"])) == 1
    assert (first.tasks_total("restore", "succeeded"),
            first.tasks_total("export", "succeeded")) == (1, 1)
    assert metric(first, "backupd_tasks_caught_up_total", kind="restore") == 1
    assert metric(first, "backupd_tasks_caught_up_total", kind="export") == 1

    await halt(first)
    second = await daemon(settings())
    await rescanned(second)
    assert second.calls("StartRestoreJob") + second.calls("ExportTableToPointInTime") == 0
    assert len(backup_fake.restore_jobs()) == 1
    assert len(done_markers(world["s3"])) == 1
    assert metric(second, "backupd_tasks_caught_up_total", kind="export") == 0


async def test_a_lost_scheduler_backup_is_restored_newest_first_and_never_an_older_one(
        daemon: Any, world: dict[str, Any]) -> None:
    """Two AVAILABLE backups the scheduler made, one someone else made: only the newest of
    the scheduler's is restored; after its copy exists, the older one stays unrestored."""
    ddb = world["ddb"]
    for name in ("backupd-nightly-202611230500", "backupd-nightly-202611240500", "manual"):
        ddb.create_backup(TableName="orders-production", BackupName=name)
    instance = await daemon(settings(exports=[]))
    await rescanned(instance, ("restore",))
    restored = [t for t in ddb.list_tables()["TableNames"] if t.startswith("orders-staging-")]
    assert restored == ["orders-staging-20261124-05-00-00"]
    assert instance.calls("RestoreTableFromBackup") == 1

    await halt(instance)
    ddb.delete_table(TableName="orders-staging-20261124-05-00-00")  # as if rotated away ...
    ddb.create_table(  # ... by a newer copy of the rule, which the older backups must not beat
        TableName="orders-staging-20261125-05-00-00",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    newer = ddb.describe_table(TableName="orders-staging-20261125-05-00-00")["Table"]
    ddb.tag_resource(ResourceArn=newer["TableArn"], Tags=[
        {"Key": "backupd:managed", "Value": "restore"}, {"Key": "backupd:rule", "Value": "staging"},
        {"Key": "backupd:source-table", "Value": "orders-production"},
        {"Key": "backupd:source-backup", "Value": "arn:aws:dynamodb:r:1:table/x/backup/y"},
        {"Key": "backupd:backup-time", "Value": "2026-11-25T05:00:00Z"},
        {"Key": "backupd:state", "Value": "done"}])
    again = await daemon(settings(exports=[]))
    await rescanned(again, ("restore",))
    assert again.calls("RestoreTableFromBackup") == 0


async def test_catch_up_can_be_turned_off(daemon: Any, world: dict[str, Any],
                                         backup_fake: Any) -> None:
    backup_fake.inject_job(world["table"].arn, world["vault"].name, state="COMPLETED")
    instance = await daemon(settings(tasks={"restore_role_arn": ROLE, "catchup_seconds": 0}))
    await rescanned(instance)
    assert instance.calls("ListBackupJobs") == 0
    assert backup_fake.restore_jobs() == []
    assert done_markers(world["s3"]) == []
