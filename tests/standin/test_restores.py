"""StartRestoreJob / DescribeRestoreJob / ListRestoreJobs, and the table a restore creates."""

from __future__ import annotations

import pytest

from tests.standin.conftest import ROLE, drain, wait_for

pytestmark = pytest.mark.e2e


def _completed_point(backup_fake, vault, table) -> str:
    job = backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")
    return backup_fake.job(job.job_id).recovery_point_arn


async def _final(aws, job_id):
    async def done():
        job = await aws["backup"].describe_restore_job(RestoreJobId=job_id)
        return job if job["Status"] in {"COMPLETED", "FAILED", "ABORTED"} else None
    return await wait_for(done)


async def test_a_restore_job_creates_the_table_with_its_items(
        aws, make_vault, make_table, backup_fake):
    vault = make_vault()
    table = make_table("orders-production", items=[{"pk": "1", "v": "x"}, {"pk": "2"}])
    point = _completed_point(backup_fake, vault, table)
    started = await aws["backup"].start_restore_job(
        RecoveryPointArn=point, IamRoleArn=ROLE,
        Metadata={"targetTableName": "orders-staging-20261124-05-00-07"})
    job = await _final(aws, started["RestoreJobId"])
    assert job["Status"] == "COMPLETED"
    assert job["CreatedResourceArn"].endswith(":table/orders-staging-20261124-05-00-07")
    assert (job["SourceResourceArn"], job["ResourceType"]) == (table.arn, "DynamoDB")
    described = await aws["dynamodb"].describe_table(
        TableName="orders-staging-20261124-05-00-07")
    assert described["Table"]["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert described["Table"]["ItemCount"] == 2


async def test_a_restore_onto_an_existing_table_fails(aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    taken = make_table()
    point = _completed_point(backup_fake, vault, table)
    started = await aws["backup"].start_restore_job(
        RecoveryPointArn=point, Metadata={"targetTableName": taken.name})
    job = await _final(aws, started["RestoreJobId"])
    assert job["Status"] == "FAILED"
    assert "already exists" in job["StatusMessage"]


async def test_a_planned_restore_failure_creates_nothing(aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    point = _completed_point(backup_fake, vault, table)
    backup_fake.plan(point, state="FAILED", status_message="Insufficient permissions")
    started = await aws["backup"].start_restore_job(
        RecoveryPointArn=point, Metadata={"targetTableName": "never"})
    job = await _final(aws, started["RestoreJobId"])
    assert (job["Status"], job["StatusMessage"]) == ("FAILED", "Insufficient permissions")
    assert "never" not in (await aws["dynamodb"].list_tables())["TableNames"]


async def test_restore_requests_are_validated(aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    point = _completed_point(backup_fake, vault, table)
    backup = aws["backup"]
    with pytest.raises(backup.exceptions.ResourceNotFoundException):
        await backup.start_restore_job(
            RecoveryPointArn="arn:aws:backup:us-east-1:123456789012:recovery-point:nope",
            Metadata={"targetTableName": "x"})
    with pytest.raises(backup.exceptions.InvalidParameterValueException):
        await backup.start_restore_job(RecoveryPointArn=point, Metadata={})
    with pytest.raises(backup.exceptions.ResourceNotFoundException):
        await backup.describe_restore_job(RestoreJobId="nope")


async def test_the_same_restore_token_returns_the_same_job(aws, make_vault, make_table,
                                                           backup_fake):
    vault, table = make_vault(), make_table()
    point = _completed_point(backup_fake, vault, table)
    args = {"RecoveryPointArn": point, "Metadata": {"targetTableName": "copy-1"},
            "IdempotencyToken": "rotation-1"}
    first = await aws["backup"].start_restore_job(**args)
    again = await aws["backup"].start_restore_job(**args)
    assert first["RestoreJobId"] == again["RestoreJobId"]


async def test_restore_jobs_are_listed_by_status_and_emit_events(
        aws, make_queue, make_vault, make_table, backup_fake):
    queue, vault, table = make_queue(), make_vault(), make_table()
    point = _completed_point(backup_fake, vault, table)
    backup_fake.set_event_target(queue)
    started = await aws["backup"].start_restore_job(
        RecoveryPointArn=point, Metadata={"targetTableName": "copy-2"})
    await _final(aws, started["RestoreJobId"])
    listed = await aws["backup"].list_restore_jobs(ByStatus="COMPLETED")
    assert [j["RestoreJobId"] for j in listed["RestoreJobs"]] == [started["RestoreJobId"]]
    assert (await aws["backup"].list_restore_jobs(ByStatus="FAILED"))["RestoreJobs"] == []
    events = await drain(aws["sqs"], queue, want=3)
    assert [e["detail"]["status"] for e in events] == ["PENDING", "RUNNING", "COMPLETED"]
    last = events[-1]
    assert last["detail-type"] == "Restore Job State Change"
    assert last["detail"]["restoreJobId"] == started["RestoreJobId"]
    assert last["detail"]["createdResourceArn"].endswith(":table/copy-2")
