"""The stand-in as a server: one port for moto and the fake, reset, quiet, and `sandbox`."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.dynamodb.models import dynamodb_backends

from daemon.standin import StandIn, client_env

pytestmark = pytest.mark.e2e


def test_client_env_names_dummy_credentials_region_and_endpoint():
    before = dict(os.environ)
    env = client_env("http://127.0.0.1:4566", "eu-west-1")
    assert env["AWS_ENDPOINT_URL"] == "http://127.0.0.1:4566"
    assert env["AWS_DEFAULT_REGION"] == env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_ACCESS_KEY_ID"] == env["AWS_SECRET_ACCESS_KEY"] == "testing"
    assert dict(os.environ) == before


async def test_unfaked_backup_calls_go_to_moto(aws, make_vault):
    vault = make_vault()
    described = await aws["backup"].describe_backup_vault(BackupVaultName=vault.name)
    assert described["BackupVaultArn"] == vault.arn
    plans = await aws["backup"].list_backup_plans()
    assert plans["BackupPlansList"] == []


async def test_describe_table_reports_a_table_size(aws, make_table):
    sized = make_table(size_bytes=123_456)
    measured = make_table(items=[{"pk": "a", "v": "x" * 100}])
    empty = make_table()

    async def size(name):
        return (await aws["dynamodb"].describe_table(TableName=name))["Table"]["TableSizeBytes"]

    assert await size(sized.name) == 123_456
    assert await size(measured.name) > 100
    assert await size(empty.name) == 0


def test_moto_reset_also_resets_the_fake(fresh_standin, make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")
    request = urllib.request.Request(f"{fresh_standin.endpoint_url}/moto-api/reset",
                                     method="POST", data=b"")
    with urllib.request.urlopen(request) as resp:
        assert resp.status == 200
    assert backup_fake.jobs() == []
    backup = boto3.client("backup", **_boto_kwargs(fresh_standin))
    dynamodb = boto3.client("dynamodb", **_boto_kwargs(fresh_standin))
    assert backup.list_backup_jobs()["BackupJobs"] == []
    assert dynamodb.list_tables()["TableNames"] == []


def test_requests_are_served_quietly(fresh_standin, capfd):
    client = boto3.client("backup", **_boto_kwargs(fresh_standin))
    client.list_backup_jobs()
    client.list_backup_vaults()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_two_stand_ins_listen_on_their_own_ports():
    with StandIn() as one, StandIn() as two:
        assert one.endpoint_url != two.endpoint_url
        assert boto3.client("backup", **_boto_kwargs(two)).list_backup_jobs()["BackupJobs"] \
            == []


@pytest.mark.slow
def test_sandbox_prints_its_endpoint_first_and_exits_0_on_sigterm():
    with subprocess.Popen([sys.executable, "-m", "daemon", "sandbox"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as proc:
        try:
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            assert ready, "sandbox printed nothing"
            url = proc.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:")
            client = boto3.client("backup", endpoint_url=url, region_name="us-east-1",
                                  aws_access_key_id="testing", aws_secret_access_key="testing")
            assert client.list_backup_jobs()["BackupJobs"] == []
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
            assert f"export AWS_ENDPOINT_URL={url}" in proc.stdout.read()
        finally:
            if proc.poll() is None:
                proc.kill()

def _boto_kwargs(standin: StandIn) -> dict[str, str]:
    return {"endpoint_url": standin.endpoint_url, "region_name": standin.region,
            "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@contextlib.contextmanager
def _enforcing():
    """moto's IAM enforcement on for a block (process-wide, so restored afterwards)."""
    saved = settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count
    settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = 0, 0
    try:
        yield
    finally:
        settings.INITIAL_NO_AUTH_ACTION_COUNT, ActionAuthenticatorMixin.request_count = saved


def test_faked_operations_obey_iam_policies(fresh_standin, make_vault, make_table):
    vault, table = make_vault(), make_table()
    iam = boto3.client("iam", **_boto_kwargs(fresh_standin))
    iam.create_user(UserName="daemon")
    iam.put_user_policy(UserName="daemon", PolicyName="list-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["backup:ListBackupJobs",
                                                  "backup:ListRecoveryPointsByResource"], "Resource": "*"}],
    }))
    key = iam.create_access_key(UserName="daemon")["AccessKey"]
    client = boto3.client("backup", endpoint_url=fresh_standin.endpoint_url,
                          region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"])
    with _enforcing():
        assert client.list_backup_jobs(ByState="RUNNING")["BackupJobs"] == []
        assert client.list_recovery_points_by_resource(  # an encoded ARN label, signed
            ResourceArn=table.arn)["RecoveryPoints"] == []
        with pytest.raises(client.exceptions.ClientError) as denied:
            client.start_backup_job(BackupVaultName=vault.name, ResourceArn=table.arn,
                                    IamRoleArn="arn:aws:iam::123456789012:role/r")
    error = denied.value.response["Error"]
    assert error["Code"] == "AccessDeniedException"
    assert "backup:StartBackupJob" in error["Message"]
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


async def test_pitr_latest_restorable_time_follows_the_clock(aws, make_table):
    """moto freezes it when PITR is enabled; the stand-in keeps it at 'now', as AWS does."""
    table = make_table(pitr=True)
    frozen = dynamodb_backends["123456789012"]["us-east-1"].tables[table.name]
    frozen.continuous_backups["PointInTimeRecoveryDescription"]["LatestRestorableDateTime"] = 0
    before = datetime.now(UTC)
    backups = await aws["dynamodb"].describe_continuous_backups(TableName=table.name)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["LatestRestorableDateTime"] >= before - timedelta(seconds=1)


def test_faked_plan_operations_obey_iam_policies(fresh_standin, make_vault):
    vault = make_vault()
    admin = boto3.client("backup", **_boto_kwargs(fresh_standin))
    plan_id = admin.create_backup_plan(BackupPlan={"BackupPlanName": "p", "Rules": [
        {"RuleName": "r", "TargetBackupVaultName": vault.name}]})["BackupPlanId"]
    iam = boto3.client("iam", **_boto_kwargs(fresh_standin))
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="read-only", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["backup:GetBackupPlan",
                                                  "backup:ListBackupSelections"], "Resource": "*"}],
    }))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    client = boto3.client("backup", endpoint_url=fresh_standin.endpoint_url,
                          region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                          aws_secret_access_key=key["SecretAccessKey"])
    with _enforcing():
        assert client.get_backup_plan(BackupPlanId=plan_id)["BackupPlanId"] == plan_id
        assert client.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"] == []
        with pytest.raises(client.exceptions.ClientError) as denied:
            client.create_backup_selection(BackupPlanId=plan_id, BackupSelection={
                "SelectionName": "s", "IamRoleArn": "arn:aws:iam::123456789012:role/r",
                "Resources": ["*"]})
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "backup:CreateBackupSelection" in denied.value.response["Error"]["Message"]


def test_moto_checks_bodiless_requests_against_an_empty_payload(fresh_standin, make_vault):
    """With IAM enforced, moto's own GET calls (no body, no query) are signed as AWS signs
    them, and form-encoded POSTs still pass."""
    vault = make_vault()
    iam = boto3.client("iam", **_boto_kwargs(fresh_standin))
    iam.create_user(UserName="reader")
    iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
            "backup:ListBackupPlans", "backup:DescribeBackupVault", "sns:CreateTopic"]}]}))
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    creds = {"aws_access_key_id": key["AccessKeyId"],
             "aws_secret_access_key": key["SecretAccessKey"]}
    backup = boto3.client("backup", endpoint_url=fresh_standin.endpoint_url,
                          region_name="us-east-1", **creds)
    sns = boto3.client("sns", endpoint_url=fresh_standin.endpoint_url,
                       region_name="us-east-1", **creds)
    with _enforcing():
        assert backup.list_backup_plans()["BackupPlansList"] == []
        assert backup.describe_backup_vault(BackupVaultName=vault.name)["BackupVaultName"] == \
            vault.name
        assert sns.create_topic(Name="form-encoded")["TopicArn"]
