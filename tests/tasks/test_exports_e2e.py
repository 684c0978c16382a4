"""Exports end to end over HTTP against the stand-in: DynamoDB and RDS exports to S3, a failed
export that keeps its source, a table without PITR, schedules, and a restart mid-export."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto.core.utils import unix_time
from moto.dynamodb.models import dynamodb_backends

from daemon.kernel.bus import BackupCompleted
from daemon.tasks.completed import CompletedBackups
from daemon.tasks.export_markers import MarkerStore
from tests.fixtures.standin import boto3_client
from tests.tasks.conftest import halt, settings_with, wait_until

pytestmark = pytest.mark.e2e
BUCKET = "backup-exports"
ROLE = "arn:aws:iam::123456789012:role/rds-s3-export"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def ddb_rule(**extra: Any) -> dict[str, Any]:
    return {"name": "orders-to-s3", "source_pattern": "^orders$", "bucket": BUCKET,
            "prefix": "exports", **extra}


def rds_rule(**extra: Any) -> dict[str, Any]:
    return {"name": "billing-parquet", "kind": "rds", "source_pattern": "^billing$",
            "bucket": BUCKET, "iam_role_arn": ROLE, "kms_key_id": KEY,
            "export_only": ["billing.invoices"], **extra}


def pitr_for_a_day(standin: Any, table: str) -> None:
    """Pretend PITR has been on for a day (moto starts the window when it is enabled)."""
    backend = dynamodb_backends[standin.backup.account][standin.region]
    desc = backend.tables[table].continuous_backups["PointInTimeRecoveryDescription"]
    desc["EarliestRestorableDateTime"] = unix_time() - 86400


@pytest.fixture
def aws(fresh_standin: Any) -> dict[str, Any]:
    clients = {s: boto3_client(fresh_standin, s) for s in ("dynamodb", "s3", "rds")}
    clients["s3"].create_bucket(Bucket=BUCKET)
    return clients


@pytest.fixture
def orders(make_table: Any, aws: dict[str, Any]) -> dict[str, Any]:
    """Table `orders` with PITR and one native backup of it."""
    table = make_table("orders", items=[{"pk": f"o{i}"} for i in range(3)], pitr=True)
    backup = aws["dynamodb"].create_backup(TableName="orders", BackupName="nightly")
    details = backup["BackupDetails"]
    return {"table": table, "backup": details["BackupArn"], "event": BackupCompleted(
        recovery_point_arn=details["BackupArn"], resource_arn=table.arn,
        resource_type="DynamoDB", created=details["BackupCreationDateTime"], origin="event")}


@pytest.fixture
def billing(aws: dict[str, Any]) -> dict[str, Any]:
    """RDS instance `billing` with one available snapshot."""
    rds = aws["rds"]
    db = rds.create_db_instance(DBInstanceIdentifier="billing", DBInstanceClass="db.t3.micro",
                                Engine="postgres", MasterUsername="admin",
                                MasterUserPassword="password1", AllocatedStorage=20)
    snap = rds.create_db_snapshot(DBInstanceIdentifier="billing",
                                  DBSnapshotIdentifier="billing-nightly")["DBSnapshot"]
    return {"snapshot": snap["DBSnapshotArn"], "event": BackupCompleted(
        recovery_point_arn=snap["DBSnapshotArn"],
        resource_arn=db["DBInstance"]["DBInstanceArn"], resource_type="RDS",
        created=snap["SnapshotCreateTime"], origin="event")}


def keys(s3: Any, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]


def backup_exists(ddb: Any, arn: str) -> bool:
    try:
        ddb.describe_backup(BackupArn=arn)
    except ddb.exceptions.BackupNotFoundException:
        return False
    return True


def vault_point(backup_fake: Any, table: Any, vault: str) -> BackupCompleted:
    """A completed AWS Backup job of `table` into `vault`, as the pipeline publishes it."""
    job = backup_fake.inject_job(table.arn, vault, state="COMPLETED")
    [point] = [p for p in backup_fake.recovery_points() if p.arn == job.recovery_point_arn]
    return BackupCompleted(recovery_point_arn=point.arn, resource_arn=table.arn,
                           resource_type="DynamoDB", created=point.creation_date,
                           origin="event", vault=vault)


async def test_a_completed_backup_is_exported_and_then_its_source_deleted(
        daemon: Any, orders: dict[str, Any], aws: dict[str, Any], make_vault: Any,
        backup_fake: Any) -> None:
    event = vault_point(backup_fake, orders["table"], make_vault("ops").name)
    instance = await daemon(settings_with(exports=[ddb_rule(
        vaults=["ops"], delete_source_on_success=True)]))
    instance.kernel.bus.publish(event)
    await instance.settle()

    assert instance.tasks_total("export", "succeeded") == 1
    day = event.created.astimezone(UTC).strftime("%Y/%m/%d")
    data = keys(aws["s3"], f"exports/orders/{day}/AWSDynamoDB/")
    assert data, "the export wrote its data under <prefix>/<table>/<YYYY>/<MM>/<DD>/"
    [marker_key] = keys(aws["s3"], "exports/_backupd/orders-to-s3/done/")
    marker = json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=marker_key)["Body"].read())
    assert (marker["state"], marker["source_deleted"]) == ("succeeded", True)
    assert event.recovery_point_arn not in {p.arn for p in backup_fake.recovery_points()}


async def test_a_backup_in_another_vault_triggers_no_export_and_is_never_deleted(
        daemon: Any, orders: dict[str, Any], aws: dict[str, Any], make_vault: Any,
        backup_fake: Any) -> None:
    """The issue's finding: a deleting rule must not act on a backup of another vault."""
    event = vault_point(backup_fake, orders["table"], make_vault("dev").name)
    make_vault("ops")
    instance = await daemon(settings_with(exports=[ddb_rule(
        vaults=["ops"], delete_source_on_success=True)]))
    instance.kernel.bus.publish(event)
    instance.kernel.bus.publish(orders["event"])  # a native backup is in no vault at all
    await instance.settle()

    assert instance.calls("ExportTableToPointInTime") == 0
    assert not keys(aws["s3"], "exports/")
    assert event.recovery_point_arn in {p.arn for p in backup_fake.recovery_points()}
    assert backup_exists(aws["dynamodb"], orders["backup"])


async def test_a_failed_export_keeps_its_source_and_alerts(
        daemon: Any, orders: dict[str, Any], aws: dict[str, Any]) -> None:
    """moto fails an export whose bucket owner has no such bucket, as AWS would."""
    instance = await daemon(settings_with(exports=[ddb_rule(bucket_owner="210987654321")]))
    instance.kernel.bus.publish(orders["event"])
    await instance.settle()

    assert instance.tasks_total("export", "failed") == 1
    assert backup_exists(aws["dynamodb"], orders["backup"])
    [alert] = await wait_until(lambda: list(instance.kernel.alerts.sent))
    assert alert.event == "export_failed"
    assert "FAILED" in alert.body["error"]
    assert "kept" in alert.body["error"]
    [marker_key] = keys(aws["s3"], "exports/_backupd/orders-to-s3/done/")
    assert json.loads(aws["s3"].get_object(Bucket=BUCKET, Key=marker_key)["Body"].read())[
        "state"] == "failed"


async def test_a_table_without_pitr_is_a_clear_error_not_a_crash(
        daemon: Any, make_table: Any, aws: dict[str, Any]) -> None:
    table = make_table("orders")
    backup = aws["dynamodb"].create_backup(TableName="orders", BackupName="nightly")
    details = backup["BackupDetails"]
    instance = await daemon(settings_with(exports=[ddb_rule()]))
    instance.kernel.bus.publish(BackupCompleted(
        recovery_point_arn=details["BackupArn"], resource_arn=table.arn,
        resource_type="DynamoDB", created=details["BackupCreationDateTime"], origin="event"))
    await instance.settle()
    [alert] = await wait_until(lambda: list(instance.kernel.alerts.sent))
    assert "table orders has point-in-time recovery disabled" in alert.body["error"]
    assert backup_exists(aws["dynamodb"], details["BackupArn"])


async def test_an_rds_snapshot_is_exported_as_parquet_with_role_key_and_filter(
        daemon: Any, billing: dict[str, Any], aws: dict[str, Any]) -> None:
    instance = await daemon(settings_with(exports=[rds_rule()]))
    instance.kernel.bus.publish(billing["event"])
    await instance.settle()

    assert instance.tasks_total("export", "succeeded") == 1
    [task] = aws["rds"].describe_export_tasks()["ExportTasks"]
    assert (task["SourceArn"], task["IamRoleArn"], task["KmsKeyId"], task["ExportOnly"]) == (
        billing["snapshot"], ROLE, KEY, ["billing.invoices"])
    assert task["S3Prefix"].startswith("exports/billing/")


async def interrupt_then_restart(daemon: Any, rules: list[dict[str, Any]], event: Any,
                                 s3: Any) -> tuple[Any, Any]:
    """Run until the export is in AWS, cancel it there, restart, wait for it to finish."""
    first = await daemon(settings_with(exports=rules))
    hit = first.interrupt_at("exporting")
    first.kernel.bus.publish(event)
    await first.settle()
    assert hit.is_set()
    await halt(first)
    assert keys(s3, f"exports/_backupd/{rules[0]['name']}/open/")
    second = await daemon(settings_with(exports=rules))
    await wait_until(lambda: second.tasks_total("export", "succeeded"))
    assert not keys(s3, f"exports/_backupd/{rules[0]['name']}/open/")
    return first, second


async def test_a_dynamodb_export_interrupted_in_the_middle_is_finished_after_a_restart(
        daemon: Any, orders: dict[str, Any], aws: dict[str, Any]) -> None:
    first, second = await interrupt_then_restart(daemon, [ddb_rule()], orders["event"],
                                                 aws["s3"])
    assert (first.calls("ExportTableToPointInTime"), second.calls("ExportTableToPointInTime")) \
        == (1, 0)
    assert len(aws["dynamodb"].list_exports(TableArn=orders["table"].arn)[
        "ExportSummaries"]) == 1


async def test_an_rds_export_interrupted_in_the_middle_is_finished_after_a_restart(
        daemon: Any, billing: dict[str, Any], aws: dict[str, Any]) -> None:
    first, second = await interrupt_then_restart(daemon, [rds_rule()], billing["event"],
                                                 aws["s3"])
    assert (first.calls("StartExportTask"), second.calls("StartExportTask")) == (1, 0)
    assert len(aws["rds"].describe_export_tasks()["ExportTasks"]) == 1


async def test_a_scheduled_export_runs_once_per_slot_across_restarts(
        daemon: Any, orders: dict[str, Any], aws: dict[str, Any], fresh_standin: Any) -> None:
    pitr_for_a_day(fresh_standin, "orders")
    rule = ddb_rule(on_backup=False, schedule="rate(1 hour)", export_type="incremental",
                    incremental_window_seconds=3600)
    first = await daemon(settings_with(exports=[rule]))
    await wait_until(lambda: first.tasks_total("export", "succeeded"))
    await halt(first)
    second = await daemon(settings_with(exports=[rule]))
    await wait_until(lambda: second.tasks_total("export", "skipped"))

    assert len(aws["dynamodb"].list_exports(TableArn=orders["table"].arn)[
        "ExportSummaries"]) == 1
    last = json.loads(aws["s3"].get_object(
        Bucket=BUCKET, Key="exports/_backupd/orders-to-s3/last/orders.json")["Body"].read())
    slot = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert datetime.fromisoformat(last["to"]) == slot
    assert backup_exists(aws["dynamodb"], orders["backup"])


async def test_a_failing_rescan_holds_up_no_slot_and_is_retried_with_backoff(
        daemon: Any, orders: dict[str, Any], aws: dict[str, Any], fresh_standin: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Both rescan steps refused (as a role without their actions is): each is logged and
    counted, the scheduled slot exports anyway, and the resume is not retried every pass."""
    pitr_for_a_day(fresh_standin, "orders")
    refused = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}},
                          "ListBackupJobs")
    calls = {"resume": 0}

    async def deny_recent(self: CompletedBackups) -> list[BackupCompleted]:
        raise refused

    async def deny_markers(self: MarkerStore, rule: Any) -> list[Any]:
        calls["resume"] += 1
        raise refused

    monkeypatch.setattr(CompletedBackups, "recent", deny_recent)
    monkeypatch.setattr(MarkerStore, "open_markers", deny_markers)
    rule = ddb_rule(on_backup=False, schedule="rate(1 hour)", export_type="incremental",
                    incremental_window_seconds=3600)
    instance = await daemon(settings_with(exports=[rule], tasks={"catchup_seconds": 3600}))
    assert await wait_until(lambda: instance.tasks_total("export", "succeeded"))

    def rescans(step: str, outcome: str) -> float:
        return instance.kernel.metrics.registry.get_sample_value(
            "backupd_task_rescans_total",
            {"kind": "export", "step": step, "outcome": outcome}) or 0.0

    assert rescans("resume", "failed") >= 1
    assert rescans("catch_up", "failed") >= 1
    assert rescans("resume", "ok") == rescans("catch_up", "ok") == 0
    await asyncio.sleep(4.0)  # passes wake at least every second; the backoff starts at 5 s
    assert calls["resume"] <= 2


async def test_export_keys_follow_the_hive_preset_with_the_backup_job(
        daemon: Any, orders: dict[str, Any], aws: dict[str, Any], make_vault: Any,
        backup_fake: Any) -> None:
    event = vault_point(backup_fake, orders["table"], make_vault("ops").name)
    [job] = backup_fake.jobs()
    event = replace(event, job_id=job.job_id)
    instance = await daemon(settings_with(exports=[ddb_rule(s3_key_preset="hive")]))
    instance.kernel.bus.publish(event)
    await instance.settle()

    assert instance.tasks_total("export", "succeeded") == 1
    at = event.created.astimezone(UTC)
    hive = (f"exports/table=orders/year={at:%Y}/month={at:%m}/day={at:%d}/"
            f"job={job.job_id}/AWSDynamoDB/")
    assert keys(aws["s3"], hive)
    assert not keys(aws["s3"], "exports/orders/")


async def test_a_scheduled_rds_export_takes_the_newest_snapshot_under_its_template(
        daemon: Any, billing: dict[str, Any], aws: dict[str, Any]) -> None:
    rule = rds_rule(on_backup=False, schedule="rate(1 hour)",
                    s3_key_template="{prefix}/{account}/{region}/{name}/{yyyy}{mm}{dd}/")
    instance = await daemon(settings_with(exports=[rule]))
    assert await wait_until(lambda: instance.tasks_total("export", "succeeded"))

    [task] = aws["rds"].describe_export_tasks()["ExportTasks"]
    assert task["SourceArn"] == billing["snapshot"]
    at = billing["event"].created.astimezone(UTC)
    account, region = billing["snapshot"].split(":")[4], billing["snapshot"].split(":")[3]
    assert task["S3Prefix"] == f"exports/{account}/{region}/billing/{at:%Y%m%d}"
    assert instance.calls("DescribeDBSnapshots") >= 1
    assert instance.calls("DescribeDBClusterSnapshots") >= 1
