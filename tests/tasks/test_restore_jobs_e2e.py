"""AWS Backup recovery points restore through StartRestoreJob (the stand-in's fake), end to end,
including a daemon restart while the restore job is still running."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.kernel.bus import BackupCompleted
from tests.fixtures.standin import boto3_client
from tests.tasks.conftest import halt, settings_with, wait_until
from tests.tasks.test_restores_e2e import ITEMS, SSM, rule, tags_of

pytestmark = pytest.mark.e2e
ROLE = "arn:aws:iam::123456789012:role/backup-restore"


@pytest.fixture
def recovery_point(make_table: Any, make_vault: Any, backup_fake: Any) -> dict[str, Any]:
    """A completed AWS Backup job of orders-production, and what its restore will be called."""
    table = make_table("orders-production", items=ITEMS)
    vault = make_vault("ops")
    backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")
    [point] = backup_fake.recovery_points()
    target = f"orders-staging-{point.creation_date:%Y%m%d-%H-%M-%S}"
    return {"table": table, "point": point, "target": target,
            "event": BackupCompleted(recovery_point_arn=point.arn, resource_arn=table.arn,
                                     resource_type="DynamoDB", created=point.creation_date,
                                     origin="event", vault=vault.name)}


def settings() -> Any:
    return settings_with(restores=[rule()], tasks={"restore_role_arn": ROLE})


async def test_an_aws_backup_recovery_point_is_restored_by_a_restore_job(
        daemon: Any, recovery_point: dict[str, Any], backup_fake: Any, fresh_standin: Any) -> None:
    instance = await daemon(settings())
    instance.kernel.bus.publish(recovery_point["event"])
    await instance.settle()

    [job] = backup_fake.restore_jobs()
    assert (job.status, job.iam_role_arn) == ("COMPLETED", ROLE)
    assert job.metadata["targetTableName"] == recovery_point["target"]
    ddb, ssm = boto3_client(fresh_standin, "dynamodb"), boto3_client(fresh_standin, "ssm")
    assert tags_of(ddb, recovery_point["target"])["backupd:state"] == "done"
    assert ssm.get_parameter(Name=SSM)["Parameter"]["Value"] == job.created_resource_arn
    assert instance.tasks_total("restore", "succeeded") == 1


async def test_a_failed_restore_job_is_an_alert_and_the_ssm_parameter_stays(
        daemon: Any, recovery_point: dict[str, Any], backup_fake: Any, fresh_standin: Any) -> None:
    backup_fake.plan(recovery_point["point"].arn, state="FAILED", status_message="access denied")
    instance = await daemon(settings())
    instance.kernel.bus.publish(recovery_point["event"])
    await instance.settle()
    assert instance.tasks_total("restore", "failed") == 1
    [alert] = await wait_until(lambda: list(instance.kernel.alerts.sent))
    assert "access denied" in alert.body["error"]
    with pytest.raises(boto3_client(fresh_standin, "ssm").exceptions.ParameterNotFound):
        boto3_client(fresh_standin, "ssm").get_parameter(Name=SSM)


async def test_a_recovery_point_without_a_restore_role_is_a_clear_error(
        daemon: Any, recovery_point: dict[str, Any], backup_fake: Any) -> None:
    instance = await daemon(settings_with(restores=[rule()]))
    instance.kernel.bus.publish(recovery_point["event"])
    await instance.settle()
    [alert] = await wait_until(lambda: list(instance.kernel.alerts.sent))
    assert "set tasks.restore_role_arn" in alert.body["error"]
    assert backup_fake.restore_jobs() == []


async def test_a_restore_job_running_across_a_restart_is_finished_not_repeated(
        daemon: Any, recovery_point: dict[str, Any], backup_fake: Any, fresh_standin: Any) -> None:
    backup_fake.plan(recovery_point["point"].arn, duration=float("inf"))
    first = await daemon(settings())
    hit = first.interrupt_at("restore_job")
    first.kernel.bus.publish(recovery_point["event"])
    await first.settle()
    assert hit.is_set()
    await halt(first)
    [job] = backup_fake.restore_jobs()
    assert job.status in ("PENDING", "RUNNING")

    second = await daemon(settings())
    [resumed] = await wait_until(lambda: [t for t in second.runner.status()["running"]
                                          if t["phase"] == "restore_job"])
    assert resumed["facts"]["restore_job_id"] == job.job_id
    backup_fake.finish(job.job_id)
    await second.runner.drain()

    assert [j.job_id for j in backup_fake.restore_jobs()] == [job.job_id]
    assert second.calls("StartRestoreJob") == 0
    assert second.tasks_total("restore", "succeeded") == 1
    ddb = boto3_client(fresh_standin, "dynamodb")
    assert tags_of(ddb, recovery_point["target"])["backupd:state"] == "done"
