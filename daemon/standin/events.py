"""The messages AWS Backup emits, built exactly as AWS shapes them.

- EventBridge events (`source: aws.backup`): `Backup Job State Change`, `Restore Job State
  Change`, `Recovery Point State Change`, as documented in the AWS Backup developer guide
  (`eventbridge.html`): camelCase detail members, sizes as strings, ISO timestamps with
  milliseconds and `Z`. Open backup jobs carry no `backupSizeInBytes`: the size is known
  when the job ends, which is why the daemon falls back to `TableSizeBytes`.
- The SNS envelope an SQS subscriber (raw delivery off) receives when EventBridge targets a
  topic.
- AWS Backup vault notifications (`PutBackupVaultNotifications`): a plain-text `Message`
  plus `MessageAttributes` (`EventType`, `State`, `AccountId`, `Id`, `StartTime`), as in
  the developer guide's `sns-notifications.html` examples.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from daemon.standin import arns
from daemon.standin.models import BackupJob, RecoveryPoint, RestoreJob

SUBJECT = "Notification from AWS Backup"


def iso(dt: datetime) -> str:
    """`2026-11-24T05:00:07.123Z`, as AWS writes event timestamps."""
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _event(detail_type: str, account: str, region: str, *, resources: list[str],
           detail: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type,
        "source": "aws.backup", "account": account,
        "time": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "region": region,
        "resources": resources, "detail": detail,
    }


def backup_job_event(job: BackupJob, now: datetime) -> dict[str, Any]:
    """`Backup Job State Change` for the job's current state."""
    detail: dict[str, Any] = {
        "backupJobId": job.job_id, "backupVaultArn": job.vault_arn,
        "backupVaultName": job.vault_name, "creationDate": iso(job.creation_date),
        "iamRoleArn": job.iam_role_arn, "resourceArn": job.resource_arn,
        "resourceType": job.resource_type, "state": job.state,
        "startBy": iso(job.start_by), "percentDone": job.percent_done(now),
    }
    if job.terminal:
        size = str(job.size_bytes if job.state == "COMPLETED" else 0)
        detail |= {"backupSizeInBytes": size, "bytesTransferred": size}
        if job.completion_date is not None:
            detail["completionDate"] = iso(job.completion_date)
    if job.timetable.finish_at is not None and not job.terminal:
        detail["expectedCompletionDate"] = iso(job.timetable.finish_at)
    if job.recovery_point_arn and job.state in {"RUNNING", "COMPLETED"}:
        detail["recoveryPointArn"] = job.recovery_point_arn
    if job.status_message:
        detail["statusMessage"] = job.status_message
    if job.created_by:
        detail["createdBy"] = {k[0].lower() + k[1:]: v for k, v in job.created_by.items()}
    return _event("Backup Job State Change", job.account, job.region,
                  resources=[job.resource_arn], detail=detail, now=now)


def restore_job_event(job: RestoreJob, now: datetime) -> dict[str, Any]:
    """`Restore Job State Change` (AWS uses `status`, not `state`, for restores)."""
    detail: dict[str, Any] = {
        "restoreJobId": job.job_id, "backupSizeInBytes": str(job.size_bytes),
        "creationDate": iso(job.creation_date), "iamRoleArn": job.iam_role_arn,
        "percentDone": 100.0 if job.status == "COMPLETED" else 0.0,
        "resourceType": job.resource_type, "status": job.status,
        "recoveryPointArn": job.recovery_point_arn,
        "sourceResourceArn": job.source_resource_arn,
    }
    if job.vault_arn:
        detail["backupVaultArn"] = job.vault_arn
    if job.created_resource_arn:
        detail["createdResourceArn"] = job.created_resource_arn
    if job.completion_date is not None:
        detail["completionDate"] = iso(job.completion_date)
    if job.status_message:
        detail["statusMessage"] = job.status_message
    return _event("Restore Job State Change", job.account, job.region,
                  resources=[job.recovery_point_arn], detail=detail, now=now)


def recovery_point_event(rp: RecoveryPoint, now: datetime) -> dict[str, Any]:
    """`Recovery Point State Change` when a completed job leaves a recovery point."""
    detail = {
        "backupVaultArn": rp.vault_arn, "backupVaultName": rp.vault_name,
        "creationDate": iso(rp.creation_date), "iamRoleArn": rp.iam_role_arn,
        "resourceArn": rp.resource_arn, "resourceType": rp.resource_type,
        "status": rp.status, "recoveryPointArn": rp.arn,
    }
    return _event("Recovery Point State Change", rp.account, rp.region, resources=[rp.arn],
                  detail=detail, now=now)


def sns_envelope(message: str, topic_arn: str, now: datetime, subject: str | None = None,
                 attributes: dict[str, str] | None = None) -> str:
    """What SNS delivers to a subscribed SQS queue with raw message delivery off."""
    region = arns.parts(topic_arn)[1]
    body: dict[str, Any] = {
        "Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": topic_arn,
        "Message": message, "Timestamp": iso(now), "SignatureVersion": "1",
        "Signature": "RkFLRQ==",
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/SimpleNotificationService.pem",
        "UnsubscribeURL": f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe"
                          f"&SubscriptionArn={topic_arn}:{uuid.uuid4()}",
    }
    if subject:
        body["Subject"] = subject
    if attributes:
        body["MessageAttributes"] = {k: {"Type": "String", "Value": v}
                                     for k, v in attributes.items()}
    return json.dumps(body)


# backup state -> (vault events that subscribe to it, message text)
_BACKUP_TEXT = {
    "RUNNING": (("BACKUP_JOB_STARTED",), "An AWS Backup job was started."),
    "COMPLETED": (("BACKUP_JOB_COMPLETED", "BACKUP_JOB_SUCCESSFUL"),
                  "An AWS Backup job was completed successfully."),
    "FAILED": (("BACKUP_JOB_COMPLETED", "BACKUP_JOB_FAILED"), "An AWS Backup job failed."),
    "ABORTED": (("BACKUP_JOB_COMPLETED", "BACKUP_JOB_FAILED"),
                "An AWS Backup job was aborted."),
    "EXPIRED": (("BACKUP_JOB_COMPLETED", "BACKUP_JOB_EXPIRED"),
                "An AWS Backup job failed to complete in time."),
}
_RESTORE_TEXT = {
    "RUNNING": (("RESTORE_JOB_STARTED",), "An AWS Backup restore job was started."),
    "COMPLETED": (("RESTORE_JOB_COMPLETED", "RESTORE_JOB_SUCCESSFUL"),
                  "An AWS Backup restore job was completed successfully."),
    "FAILED": (("RESTORE_JOB_COMPLETED", "RESTORE_JOB_FAILED"),
               "An AWS Backup restore job failed."),
}


def backup_notification(job: BackupJob, wanted: frozenset[str]
                        ) -> tuple[str, dict[str, str]] | None:
    """(message, attributes) of a vault notification for the job's state, if subscribed."""
    entry = _BACKUP_TEXT.get(job.state)
    if entry is None or not wanted.intersection(entry[0]):
        return None
    text = entry[1]
    if job.state == "COMPLETED" and job.recovery_point_arn:
        text += f" Recovery point ARN: {job.recovery_point_arn}."
    text += f" Resource ARN : {job.resource_arn}. BackupJob ID : {job.job_id}"
    attrs = {"EventType": "BACKUP_JOB", "State": job.state, "AccountId": job.account,
             "Id": job.job_id, "StartTime": iso(job.creation_date)}
    return text, attrs


def restore_notification(job: RestoreJob, wanted: frozenset[str]
                         ) -> tuple[str, dict[str, str]] | None:
    """(message, attributes) of a vault notification for a restore job, if subscribed."""
    entry = _RESTORE_TEXT.get(job.status)
    if entry is None or not wanted.intersection(entry[0]):
        return None
    text = f"{entry[1]} Recovery point ARN: {job.recovery_point_arn}."
    if job.created_resource_arn:
        text += f" Resource ARN : {job.created_resource_arn}."
    text += f" RestoreJob ID : {job.job_id}"
    attrs = {"EventType": "RESTORE_JOB", "State": job.status, "AccountId": job.account,
             "Id": job.job_id, "StartTime": iso(job.creation_date)}
    return text, attrs
