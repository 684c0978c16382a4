"""StartBackupJob / DescribeBackupJob / StopBackupJob through the real aioboto3 client."""

from __future__ import annotations

import pytest

from tests.standin.conftest import ROLE, wait_for

pytestmark = pytest.mark.e2e


async def _start(aws, vault, table, **extra):
    return await aws["backup"].start_backup_job(
        BackupVaultName=vault.name, ResourceArn=table.arn, IamRoleArn=ROLE, **extra)


async def test_a_backup_job_runs_to_completed_with_the_table_size(aws, make_vault, make_table):
    vault, table = make_vault(), make_table(size_bytes=5_000_000)
    started = await _start(aws, vault, table)

    async def completed():
        job = await aws["backup"].describe_backup_job(BackupJobId=started["BackupJobId"])
        return job if job["State"] == "COMPLETED" else None

    job = await wait_for(completed)
    assert job["BackupSizeInBytes"] == 5_000_000
    assert job["ResourceType"] == "DynamoDB"
    assert job["BackupVaultArn"] == vault.arn
    assert job["PercentDone"] == "100.0"
    assert job["RecoveryPointArn"] == started["RecoveryPointArn"]


async def test_the_same_idempotency_token_returns_the_same_job(aws, make_vault, make_table):
    vault, table = make_vault(), make_table()
    first = await _start(aws, vault, table, IdempotencyToken="slot-202611240500")
    again = await _start(aws, vault, table, IdempotencyToken="slot-202611240500")
    other = await _start(aws, vault, table, IdempotencyToken="slot-202611250500")
    assert again["BackupJobId"] == first["BackupJobId"]
    assert other["BackupJobId"] != first["BackupJobId"]


async def test_an_unknown_vault_is_resource_not_found(aws, make_table):
    table = make_table()
    with pytest.raises(aws["backup"].exceptions.ResourceNotFoundException):
        await aws["backup"].start_backup_job(BackupVaultName="nope", ResourceArn=table.arn,
                                             IamRoleArn=ROLE)


async def test_a_missing_required_member_is_missing_parameter_value(aws, make_vault, make_table):
    vault, table = make_vault(), make_table()
    with pytest.raises(aws["backup"].exceptions.MissingParameterValueException) as info:
        await aws["backup"].start_backup_job(BackupVaultName=vault.name,
                                             ResourceArn=table.arn, IamRoleArn="")
    assert info.value.response["Error"]["Code"] == "MissingParameterValueException"


async def test_a_bad_lifecycle_is_invalid_parameter_value(aws, make_vault, make_table):
    vault, table = make_vault(), make_table()
    with pytest.raises(aws["backup"].exceptions.InvalidParameterValueException):
        await _start(aws, vault, table,
                     Lifecycle={"MoveToColdStorageAfterDays": 10, "DeleteAfterDays": 20})


async def test_an_unknown_job_id_is_resource_not_found(aws):
    with pytest.raises(aws["backup"].exceptions.ResourceNotFoundException) as info:
        await aws["backup"].describe_backup_job(BackupJobId="0000")
    assert "0000" in info.value.response["Error"]["Message"]


async def test_a_missing_table_makes_a_failed_job(aws, make_vault, backup_fake):
    vault = make_vault()
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/gone"
    started = await aws["backup"].start_backup_job(BackupVaultName=vault.name,
                                                   ResourceArn=arn, IamRoleArn=ROLE)
    backup_fake.tick()

    async def failed():
        job = await aws["backup"].describe_backup_job(BackupJobId=started["BackupJobId"])
        return job if job["State"] == "FAILED" else None

    job = await wait_for(failed)
    assert "not found" in job["StatusMessage"]


async def test_a_planned_failure_fails_with_its_message(aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    backup_fake.plan(table.arn, state="FAILED", status_message="Access denied")
    started = await _start(aws, vault, table)

    async def failed():
        job = await aws["backup"].describe_backup_job(BackupJobId=started["BackupJobId"])
        return job if job["State"] == "FAILED" else None

    assert (await wait_for(failed))["StatusMessage"] == "Access denied"


async def test_a_held_job_stays_running_until_finished(aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    backup_fake.plan(table.arn, duration=float("inf"))
    started = await _start(aws, vault, table)
    job_id = started["BackupJobId"]

    async def running():
        job = await aws["backup"].describe_backup_job(BackupJobId=job_id)
        return job["State"] == "RUNNING"

    await wait_for(running)
    backup_fake.finish(job_id, "COMPLETED", size_bytes=42)
    job = await aws["backup"].describe_backup_job(BackupJobId=job_id)
    assert (job["State"], job["BackupSizeInBytes"]) == ("COMPLETED", 42)


async def test_stopping_a_running_job_aborts_it(aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    backup_fake.plan(table.arn, duration=float("inf"))
    job_id = (await _start(aws, vault, table))["BackupJobId"]
    await aws["backup"].stop_backup_job(BackupJobId=job_id)
    backup_fake.tick()
    job = await aws["backup"].describe_backup_job(BackupJobId=job_id)
    assert job["State"] == "ABORTED"
    with pytest.raises(aws["backup"].exceptions.InvalidRequestException):
        await aws["backup"].stop_backup_job(BackupJobId=job_id)
