"""State changes reach SQS as AWS sends them: EventBridge events, SNS envelopes, vault notifications."""

from __future__ import annotations

import json
import re

import pytest

from tests.standin.conftest import ROLE, drain

pytestmark = pytest.mark.e2e
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


async def test_a_backup_job_emits_created_running_completed_in_order(
        aws, make_queue, make_vault, make_table, backup_fake):
    queue, vault, table = make_queue(), make_vault(), make_table(size_bytes=777)
    backup_fake.set_event_target(queue)
    started = await aws["backup"].start_backup_job(BackupVaultName=vault.name,
                                                   ResourceArn=table.arn, IamRoleArn=ROLE)
    bodies = await drain(aws["sqs"], queue, want=4)
    jobs = [b for b in bodies if b["detail-type"] == "Backup Job State Change"]
    assert [b["detail"]["state"] for b in jobs] == ["CREATED", "RUNNING", "COMPLETED"]
    done = jobs[-1]
    assert {k: done[k] for k in ("version", "source", "account", "region", "resources")} == {
        "version": "0", "source": "aws.backup", "account": "123456789012",
        "region": "us-east-1", "resources": [table.arn]}
    detail = done["detail"]
    assert detail["backupJobId"] == started["BackupJobId"]
    assert detail["backupSizeInBytes"] == "777"  # a string, as AWS sends it
    assert detail["backupVaultName"] == vault.name
    assert detail["backupVaultArn"] == vault.arn
    assert detail["recoveryPointArn"] == started["RecoveryPointArn"]
    assert (detail["resourceArn"], detail["resourceType"]) == (table.arn, "DynamoDB")
    assert detail["iamRoleArn"] == ROLE
    assert detail["percentDone"] == "100.0"
    for key in ("creationDate", "startBy", "completionDate"):
        assert ISO_MS.match(detail[key]), key
    assert "backupSizeInBytes" not in jobs[1]["detail"]  # unknown while running
    points = [b for b in bodies if b["detail-type"] == "Recovery Point State Change"]
    assert points[0]["detail"]["status"] == "COMPLETED"
    assert points[0]["resources"] == [started["RecoveryPointArn"]]


async def test_a_failed_job_event_carries_its_status_message(
        aws, make_queue, make_vault, make_table, backup_fake):
    queue, vault, table = make_queue(), make_vault(), make_table()
    backup_fake.set_event_target(queue)
    job = backup_fake.inject_job(table.arn, vault.name, state="FAILED")
    [event] = await drain(aws["sqs"], queue, want=1)
    assert event["detail"]["backupJobId"] == job.job_id
    assert event["detail"]["state"] == "FAILED"
    assert event["detail"]["backupSizeInBytes"] == "0"
    assert event["detail"]["statusMessage"]


async def test_events_can_arrive_wrapped_in_an_sns_envelope(
        aws, make_queue, make_vault, make_table, backup_fake):
    queue, vault, table = make_queue(), make_vault(), make_table()
    topic = "arn:aws:sns:us-east-1:123456789012:backup-events"
    backup_fake.set_event_target(queue, sns_wrapped=True, topic_arn=topic)
    job = backup_fake.inject_job(table.arn, vault.name, state="RUNNING", duration=float("inf"))
    [envelope] = await drain(aws["sqs"], queue, want=1)
    assert envelope["Type"] == "Notification"
    assert envelope["TopicArn"] == topic
    inner = json.loads(envelope["Message"])
    assert inner["detail"]["backupJobId"] == job.job_id
    assert inner["detail"]["state"] == "RUNNING"


async def test_vault_notifications_reach_a_subscribed_queue(
        aws, make_queue, make_vault, make_table, make_topic, backup_fake):
    queue, vault, table = make_queue(), make_vault(), make_table()
    topic = make_topic(subscribe=queue)
    await aws["backup"].put_backup_vault_notifications(
        BackupVaultName=vault.name, SNSTopicArn=topic, BackupVaultEvents=["BACKUP_JOB_COMPLETED"])
    got = await aws["backup"].get_backup_vault_notifications(BackupVaultName=vault.name)
    assert (got["SNSTopicArn"], got["BackupVaultEvents"]) == (topic, ["BACKUP_JOB_COMPLETED"])
    ok = backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")
    bad = backup_fake.inject_job(table.arn, vault.name, state="FAILED")
    backup_fake.inject_job(table.arn, vault.name, state="RUNNING", duration=float("inf"))
    envelopes = await drain(aws["sqs"], queue, want=2)
    assert len(envelopes) == 2  # STARTED is not subscribed
    by_state = {e["MessageAttributes"]["State"]["Value"]: e for e in envelopes}
    completed = by_state["COMPLETED"]
    assert completed["Subject"] == "Notification from AWS Backup"
    assert completed["Message"].startswith("An AWS Backup job was completed successfully.")
    assert f"BackupJob ID : {ok.job_id}" in completed["Message"]
    attrs = {k: v["Value"] for k, v in completed["MessageAttributes"].items()}
    assert attrs["EventType"] == "BACKUP_JOB"
    assert attrs["Id"] == ok.job_id
    assert attrs["AccountId"] == "123456789012"
    assert by_state["FAILED"]["Message"].startswith("An AWS Backup job failed.")
    assert f"BackupJob ID : {bad.job_id}" in by_state["FAILED"]["Message"]


async def test_vault_notification_calls_report_aws_errors(aws, make_vault):
    vault = make_vault()
    with pytest.raises(aws["backup"].exceptions.ResourceNotFoundException):
        await aws["backup"].get_backup_vault_notifications(BackupVaultName=vault.name)
    with pytest.raises(aws["backup"].exceptions.InvalidParameterValueException):
        await aws["backup"].put_backup_vault_notifications(
            BackupVaultName=vault.name, SNSTopicArn="arn:aws:sns:us-east-1:123456789012:nope",
            BackupVaultEvents=["BACKUP_JOB_COMPLETED"])
    await aws["backup"].delete_backup_vault_notifications(BackupVaultName=vault.name)


async def test_injected_raw_events_are_delivered_verbatim(aws, make_queue, backup_fake):
    queue = make_queue()
    backup_fake.set_event_target(queue)
    backup_fake.inject_event('{"truncated": ')
    backup_fake.inject_event({"detail-type": "Backup Plan State Change", "source": "aws.backup"})
    resp = await aws["sqs"].receive_message(QueueUrl=queue, MaxNumberOfMessages=10)
    assert sorted(m["Body"] for m in resp["Messages"]) == [
        '{"detail-type": "Backup Plan State Change", "source": "aws.backup"}', '{"truncated": ']


async def test_an_injected_wave_matches_the_fakes_truth(
        aws, make_queue, make_vault, make_table, backup_fake):
    queue, vault = make_queue(), make_vault()
    tables = [make_table() for _ in range(4)]
    backup_fake.set_event_target(queue)
    plan = {"BackupPlanId": "plan-1", "BackupRuleId": "rule-1"}
    for t in tables:
        backup_fake.inject_job(t.arn, vault.name, created_by=plan)
    events = await drain(aws["sqs"], queue, want=4 * 3 + 4)
    finals = {e["detail"]["backupJobId"]: e["detail"]["state"] for e in events
              if e["detail-type"] == "Backup Job State Change"
              and e["detail"]["state"] in {"COMPLETED", "FAILED"}}
    truth = {j.job_id: j.state for j in backup_fake.jobs()}
    assert finals == truth
    assert events[0]["detail"]["createdBy"] == {"backupPlanId": "plan-1",
                                                "backupRuleId": "rule-1"}


async def test_a_gone_queue_is_recorded_not_fatal(make_vault, make_table, backup_fake):
    vault, table = make_vault(), make_table()
    backup_fake.set_event_target("http://127.0.0.1:1/123456789012/missing")
    backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")
    assert backup_fake.delivery_errors
