"""Several accounts in the stand-in: member accounts' jobs, ByAccountId, and their events."""

from __future__ import annotations

import time

import pytest

from tests.fixtures.standin import boto3_client, member_client
from tests.standin.conftest import drain

pytestmark = pytest.mark.e2e
OWN, MEMBER, OTHER = "123456789012", "111111111111", "222222222222"


def table_arn(account: str, name: str = "orders") -> str:
    return f"arn:aws:dynamodb:us-east-1:{account}:table/{name}"


async def test_list_backup_jobs_lists_own_one_or_every_account_and_names_each(
        aws, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    own = backup_fake.inject_job(table.arn, vault.name, state="RUNNING", duration=float("inf"))
    member = backup_fake.inject_job(table_arn(MEMBER), "ops", state="RUNNING",
                                    duration=float("inf"))
    other = backup_fake.inject_job(table_arn(OTHER), "ops", state="COMPLETED")
    backup = aws["backup"]

    async def listed(**filters):
        jobs = (await backup.list_backup_jobs(**filters))["BackupJobs"]
        return {j["BackupJobId"]: j for j in jobs}

    assert set(await listed()) == {own.job_id}, "the caller's own account by default"
    assert set(await listed(ByAccountId=MEMBER)) == {member.job_id}
    everyone = await listed(ByAccountId="*")
    assert set(everyone) == {own.job_id, member.job_id, other.job_id}
    assert {j["AccountId"] for j in everyone.values()} == {OWN, MEMBER, OTHER}
    assert set(await listed(ByAccountId="*", ByState="RUNNING")) == {own.job_id, member.job_id}
    job = everyone[other.job_id]
    assert job["BackupVaultArn"] == f"arn:aws:backup:us-east-1:{OTHER}:backup-vault:ops"
    assert job["RecoveryPointArn"].startswith(f"arn:aws:backup:us-east-1:{OTHER}:recovery-point:")
    assert job["IamRoleArn"].startswith(f"arn:aws:iam::{OTHER}:role/")
    assert job["State"] == "COMPLETED", "a member's table is not looked for in moto"


async def test_a_member_accounts_job_is_not_described_from_the_callers_account(
        aws, backup_fake):
    member = backup_fake.inject_job(table_arn(MEMBER), "ops", state="RUNNING",
                                    duration=float("inf"))
    backup = aws["backup"]
    with pytest.raises(backup.exceptions.ResourceNotFoundException):
        await backup.describe_backup_job(BackupJobId=member.job_id)


def member_backup(standin, account):
    """AWS Backup with the credentials of a role assumed in `account` (moto's STS)."""
    return member_client(standin, "backup", account)


def test_in_a_member_account_its_own_jobs_are_listed_described_and_stopped(
        fresh_standin, make_vault, make_table, backup_fake):
    """The caller is the account whose credentials signed the request: through a role
    assumed in a member account, the listing without ByAccountId and DescribeBackupJob
    are that account's, as they are the own account's for the own credentials."""
    vault, table = make_vault(), make_table()
    own = backup_fake.inject_job(table.arn, vault.name, state="RUNNING", duration=float("inf"))
    mine = backup_fake.inject_job(table_arn(MEMBER), "ops", state="RUNNING",
                                  duration=float("inf"))
    other = backup_fake.inject_job(table_arn(OTHER), "ops", state="RUNNING",
                                   duration=float("inf"))
    backup = member_backup(fresh_standin, MEMBER)
    listed = backup.list_backup_jobs()["BackupJobs"]
    assert [(j["BackupJobId"], j["AccountId"]) for j in listed] == [(mine.job_id, MEMBER)]
    assert backup.describe_backup_job(BackupJobId=mine.job_id)["AccountId"] == MEMBER
    for foreign in (own, other):
        with pytest.raises(backup.exceptions.ResourceNotFoundException):
            backup.describe_backup_job(BackupJobId=foreign.job_id)
        with pytest.raises(backup.exceptions.ResourceNotFoundException):
            backup.stop_backup_job(BackupJobId=foreign.job_id)
    backup.stop_backup_job(BackupJobId=mine.job_id)
    # ABORTING now, ABORTED at the stand-in clock's next tick, which may come in between
    assert backup.describe_backup_job(BackupJobId=mine.job_id)["State"] in {
        "ABORTING", "ABORTED"}
    own_backup = boto3_client(fresh_standin, "backup")
    assert [j["BackupJobId"] for j in own_backup.list_backup_jobs()["BackupJobs"]] == [
        own.job_id]


async def test_a_member_accounts_events_name_its_account(aws, make_queue, backup_fake):
    queue = make_queue()
    backup_fake.set_event_target(queue)
    job = backup_fake.inject_job(table_arn(MEMBER), "ops", state="RUNNING", duration=0.0)
    bodies = await drain(aws["sqs"], queue, want=3)
    mine = [b for b in bodies if b["detail"].get("backupJobId") == job.job_id
            or b["detail-type"] == "Recovery Point State Change"]
    assert {b["account"] for b in mine} == {MEMBER}
    assert {b["detail-type"] for b in mine} == {"Backup Job State Change",
                                               "Recovery Point State Change"}


def as_member(standin, service: str, account: str = MEMBER):
    """A boto3 client with credentials of a role assumed in `account` (moto's STS)."""
    return member_client(standin, service, account,
                         role_arn_template="arn:aws:iam::{account}:role/ddb-backupd-target")


def test_calls_through_an_assumed_role_act_in_the_roles_account(fresh_standin):
    """StartBackupJob, ListBackupJobs, the recovery point, its tags and its deletion, all in
    the member account whose role signed them; the stand-in's own account sees none of it."""
    backup, ddb = as_member(fresh_standin, "backup"), as_member(fresh_standin, "dynamodb")
    backup.create_backup_vault(BackupVaultName="member-vault")
    arn = ddb.create_table(TableName="orders", BillingMode="PAY_PER_REQUEST",
                           KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                           )["TableDescription"]["TableArn"]
    role = f"arn:aws:iam::{MEMBER}:role/backup"
    job_id = backup.start_backup_job(BackupVaultName="member-vault", ResourceArn=arn,
                                     IamRoleArn=role, RecoveryPointTags={"k": "v"})["BackupJobId"]
    own = boto3_client(fresh_standin, "backup")
    with pytest.raises(own.exceptions.ResourceNotFoundException):
        own.describe_backup_job(BackupJobId=job_id)
    assert own.list_backup_jobs()["BackupJobs"] == []
    for _ in range(100):
        (job,) = backup.list_backup_jobs()["BackupJobs"]
        if job["State"] == "COMPLETED":
            break
        time.sleep(0.05)
    assert (job["AccountId"], job["State"]) == (MEMBER, "COMPLETED")
    assert job["BackupVaultArn"] == f"arn:aws:backup:us-east-1:{MEMBER}:backup-vault:member-vault"
    (point,) = backup.list_recovery_points_by_backup_vault(
        BackupVaultName="member-vault")["RecoveryPoints"]
    assert point["RecoveryPointArn"] == job["RecoveryPointArn"]
    assert backup.list_tags(ResourceArn=point["RecoveryPointArn"])["Tags"] == {"k": "v"}
    with pytest.raises(own.exceptions.ResourceNotFoundException):  # not the own account's
        own.delete_recovery_point(BackupVaultName="member-vault",
                                  RecoveryPointArn=point["RecoveryPointArn"])
    backup.delete_recovery_point(BackupVaultName="member-vault",
                                 RecoveryPointArn=point["RecoveryPointArn"])
    assert backup.list_recovery_points_by_backup_vault(
        BackupVaultName="member-vault")["RecoveryPoints"] == []


def test_a_resource_of_another_account_is_refused_by_start_backup_job(fresh_standin):
    own = boto3_client(fresh_standin, "backup")
    own.create_backup_vault(BackupVaultName="own-vault")
    with pytest.raises(own.exceptions.InvalidParameterValueException, match=MEMBER):
        own.start_backup_job(BackupVaultName="own-vault", ResourceArn=table_arn(MEMBER),
                             IamRoleArn=f"arn:aws:iam::{OWN}:role/backup")
