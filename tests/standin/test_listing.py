"""ListBackupJobs and the recovery point calls: filters, pagination, tags, deletion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.standin.conftest import ROLE

pytestmark = pytest.mark.e2e


async def test_list_backup_jobs_filters_by_state_vault_resource_and_type(
        aws, make_vault, make_table, backup_fake):
    one, two = make_vault(), make_vault()
    a, b = make_table(), make_table()
    done = backup_fake.inject_job(a.arn, one.name, state="COMPLETED")
    running = backup_fake.inject_job(b.arn, two.name, state="RUNNING", duration=float("inf"))
    rds = backup_fake.inject_job("arn:aws:rds:us-east-1:123456789012:db:pg", two.name,
                                 state="RUNNING", duration=float("inf"))
    backup = aws["backup"]

    async def ids(**filters):
        return {j["BackupJobId"] for j in (await backup.list_backup_jobs(**filters))["BackupJobs"]}

    assert await ids(ByState="COMPLETED") == {done.job_id}
    assert await ids(ByState="RUNNING") == {running.job_id, rds.job_id}
    assert await ids(ByBackupVaultName=two.name) == {running.job_id, rds.job_id}
    assert await ids(ByResourceArn=a.arn) == {done.job_id}
    assert await ids(ByResourceType="RDS") == {rds.job_id}


async def test_list_backup_jobs_filters_by_creation_time(aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    job = backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")
    past = datetime.now(UTC) - timedelta(hours=1)
    future = datetime.now(UTC) + timedelta(hours=1)
    after = await aws["backup"].list_backup_jobs(ByCreatedAfter=past)
    before = await aws["backup"].list_backup_jobs(ByCreatedBefore=past)
    window = await aws["backup"].list_backup_jobs(ByCreatedAfter=past, ByCreatedBefore=future)
    assert [j["BackupJobId"] for j in after["BackupJobs"]] == [job.job_id]
    assert before["BackupJobs"] == []
    assert [j["BackupJobId"] for j in window["BackupJobs"]] == [job.job_id]


async def test_list_backup_jobs_pages_with_next_token(aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    made = {backup_fake.inject_job(table.arn, vault.name, state="COMPLETED").job_id
            for _ in range(7)}
    first = await aws["backup"].list_backup_jobs(MaxResults=3)
    assert len(first["BackupJobs"]) == 3
    assert first["NextToken"]
    seen: list[str] = []
    async for page in aws["backup"].get_paginator("list_backup_jobs").paginate(
            PaginationConfig={"PageSize": 3}):
        seen += [j["BackupJobId"] for j in page["BackupJobs"]]
    assert sorted(seen) == sorted(made)


async def test_a_bad_max_results_or_token_is_invalid_parameter_value(aws):
    with pytest.raises(aws["backup"].exceptions.InvalidParameterValueException):
        await aws["backup"].list_backup_jobs(NextToken="not-a-token")
    with pytest.raises(aws["backup"].exceptions.InvalidParameterValueException):
        await aws["backup"].list_backup_jobs(MaxResults=5000)


async def test_a_completed_job_leaves_a_tagged_recovery_point_in_its_vault(
        aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table(size_bytes=1234)
    started = await aws["backup"].start_backup_job(
        BackupVaultName=vault.name, ResourceArn=table.arn, IamRoleArn=ROLE,
        RecoveryPointTags={"backupd:schedule": "daily"}, Lifecycle={"DeleteAfterDays": 7})
    backup_fake.finish(started["BackupJobId"])
    points = (await aws["backup"].list_recovery_points_by_backup_vault(
        BackupVaultName=vault.name))["RecoveryPoints"]
    assert [p["RecoveryPointArn"] for p in points] == [started["RecoveryPointArn"]]
    point = points[0]
    assert (point["Status"], point["BackupSizeInBytes"], point["ResourceArn"]) == (
        "COMPLETED", 1234, table.arn)
    assert point["Lifecycle"] == {"DeleteAfterDays": 7}
    assert point["CalculatedLifecycle"]["DeleteAt"] > point["CreationDate"]
    tags = await aws["backup"].list_tags(ResourceArn=point["RecoveryPointArn"])
    assert tags["Tags"] == {"backupd:schedule": "daily"}
    vaults = (await aws["backup"].list_backup_vaults())["BackupVaultList"]
    assert [v["NumberOfRecoveryPoints"] for v in vaults if v["BackupVaultName"] == vault.name] \
        == [1]


async def test_recovery_points_are_listed_by_resource_and_described(
        aws, make_vault, make_table, backup_fake):
    vault, a, b = make_vault(), make_table(), make_table()
    job_a = backup_fake.inject_job(a.arn, vault.name, state="COMPLETED", size_bytes=10)
    backup_fake.inject_job(b.arn, vault.name, state="COMPLETED")
    arn = backup_fake.job(job_a.job_id).recovery_point_arn
    by_resource = await aws["backup"].list_recovery_points_by_resource(ResourceArn=a.arn)
    assert [(p["RecoveryPointArn"], p["BackupSizeBytes"]) for p in
            by_resource["RecoveryPoints"]] == [(arn, 10)]
    by_vault = await aws["backup"].list_recovery_points_by_backup_vault(
        BackupVaultName=vault.name, ByResourceArn=b.arn)
    assert len(by_vault["RecoveryPoints"]) == 1
    described = await aws["backup"].describe_recovery_point(BackupVaultName=vault.name,
                                                            RecoveryPointArn=arn)
    assert described["ResourceArn"] == a.arn


async def test_recovery_points_page(aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    for _ in range(5):
        backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")
    seen = []
    async for page in aws["backup"].get_paginator("list_recovery_points_by_backup_vault"
                                                  ).paginate(BackupVaultName=vault.name,
                                                             PaginationConfig={"PageSize": 2}):
        seen += page["RecoveryPoints"]
    assert len({p["RecoveryPointArn"] for p in seen}) == 5


async def test_deleting_a_recovery_point_removes_it(aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    job = backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")
    arn = backup_fake.job(job.job_id).recovery_point_arn
    await aws["backup"].delete_recovery_point(BackupVaultName=vault.name, RecoveryPointArn=arn)
    listed = await aws["backup"].list_recovery_points_by_backup_vault(BackupVaultName=vault.name)
    assert listed["RecoveryPoints"] == []
    with pytest.raises(aws["backup"].exceptions.ResourceNotFoundException):
        await aws["backup"].describe_recovery_point(BackupVaultName=vault.name,
                                                    RecoveryPointArn=arn)


async def test_recovery_points_of_an_unknown_vault_are_resource_not_found(aws):
    with pytest.raises(aws["backup"].exceptions.ResourceNotFoundException):
        await aws["backup"].list_recovery_points_by_backup_vault(BackupVaultName="nope")


async def test_native_dynamodb_arns_are_real_dynamodb_backups(
        aws, make_vault, make_table, backup_fake):
    backup_fake.configure(native_dynamodb_arns=True)
    vault = make_vault()
    table = make_table(items=[{"pk": "a"}, {"pk": "b"}])
    job = backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")
    arn = backup_fake.job(job.job_id).recovery_point_arn
    assert arn.startswith(f"{table.arn}/backup/")
    described = await aws["dynamodb"].describe_backup(BackupArn=arn)
    assert described["BackupDescription"]["BackupDetails"]["BackupArn"] == arn
    await aws["dynamodb"].restore_table_from_backup(TargetTableName="copy", BackupArn=arn)
    assert (await aws["dynamodb"].scan(TableName="copy"))["Count"] == 2
    tags = await aws["backup"].list_tags(ResourceArn=arn)
    assert tags["Tags"] == {}


async def test_an_rds_job_leaves_an_exportable_snapshot(aws_env, aio_session, make_vault,
                                                        backup_fake):
    vault = make_vault()
    async with aio_session.client("rds") as rds:
        db = await rds.create_db_instance(DBInstanceIdentifier="pg", Engine="postgres",
                                          DBInstanceClass="db.t3.micro", AllocatedStorage=20,
                                          MasterUsername="admin", MasterUserPassword="secret123")
        job = backup_fake.inject_job(db["DBInstance"]["DBInstanceArn"], vault.name,
                                     state="COMPLETED")
        arn = backup_fake.job(job.job_id).recovery_point_arn
        assert arn.startswith("arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-")
        task = await rds.start_export_task(
            ExportTaskIdentifier="exp-1", SourceArn=arn, S3BucketName="exports",
            IamRoleArn="arn:aws:iam::123456789012:role/export", KmsKeyId="key")
        assert task["SourceArn"] == arn
