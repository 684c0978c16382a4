"""The fake's records: backup jobs, recovery points, restore jobs, plan versions, selections.

Field names of `to_api()` are botocore's (`BackupJob`, `RecoveryPointByBackupVault`,
`DescribeRestoreJobOutput`, `BackupSelectionsListMember`, ...). Each job also carries its own
timetable (when it starts running, when it ends and how), decided once at creation, so the
clock thread only compares times and the outcome of a job never depends on when someone
looked at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

BACKUP_TERMINAL = frozenset({"COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"})
RESTORE_TERMINAL = frozenset({"COMPLETED", "FAILED", "ABORTED"})
BACKUP_STATES = ("CREATED", "PENDING", "RUNNING", "ABORTING", *sorted(BACKUP_TERMINAL))
RESTORE_STATES = ("PENDING", "RUNNING", *sorted(RESTORE_TERMINAL))


@dataclass(slots=True)
class Timetable:
    """When a job starts running and when it ends, in which state, with which message.

    `finish_at=None` holds the job RUNNING until the control object finishes it.
    """

    run_at: datetime
    finish_at: datetime | None
    final_state: str = "COMPLETED"
    status_message: str | None = None


@dataclass(slots=True)
class BackupJob:
    """One AWS Backup backup job, as `DescribeBackupJob` reports it."""

    job_id: str
    account: str
    region: str
    vault_name: str
    vault_arn: str
    resource_arn: str
    resource_type: str
    iam_role_arn: str
    creation_date: datetime
    start_by: datetime
    timetable: Timetable
    size_bytes: int
    state: str = "CREATED"
    status_message: str | None = None
    completion_date: datetime | None = None
    recovery_point_arn: str | None = None
    lifecycle: dict[str, Any] | None = None
    recovery_point_tags: dict[str, str] = field(default_factory=dict)
    created_by: dict[str, str] | None = None
    idempotency_token: str | None = None
    resource_name: str | None = None

    @property
    def terminal(self) -> bool:
        return self.state in BACKUP_TERMINAL

    def percent_done(self, now: datetime) -> str:
        """AWS reports progress as a string such as `"42.0"`."""
        if self.state == "COMPLETED":
            return "100.0"
        tt = self.timetable
        if self.state != "RUNNING" or tt.finish_at is None or tt.finish_at <= tt.run_at:
            return "0.0"
        span = (tt.finish_at - tt.run_at).total_seconds()
        done = min(max((now - tt.run_at).total_seconds() / span, 0.0), 0.99)
        return f"{done * 100:.1f}"

    def to_api(self, now: datetime) -> dict[str, Any]:
        """The `BackupJob` / `DescribeBackupJobOutput` members."""
        done = self.state == "COMPLETED"
        return {
            "AccountId": self.account, "BackupJobId": self.job_id,
            "BackupVaultName": self.vault_name, "BackupVaultArn": self.vault_arn,
            "RecoveryPointArn": self.recovery_point_arn, "ResourceArn": self.resource_arn,
            "CreationDate": self.creation_date, "CompletionDate": self.completion_date,
            "State": self.state, "StatusMessage": self.status_message,
            "PercentDone": self.percent_done(now),
            "BackupSizeInBytes": self.size_bytes if done else 0,
            "BytesTransferred": self.size_bytes if done else 0,
            "IamRoleArn": self.iam_role_arn, "CreatedBy": self.created_by,
            "ExpectedCompletionDate": self.timetable.finish_at, "StartBy": self.start_by,
            "ResourceType": self.resource_type, "BackupType": "",
            "RecoveryPointLifecycle": self.lifecycle, "IsParent": False,
            "ResourceName": self.resource_name, "InitiationDate": self.creation_date,
            "VaultType": "BACKUP_VAULT",
        }


@dataclass(slots=True)
class RecoveryPoint:
    """A recovery point left in a vault by a completed backup job."""

    arn: str
    account: str
    region: str
    vault_name: str
    vault_arn: str
    resource_arn: str
    resource_type: str
    iam_role_arn: str
    creation_date: datetime
    completion_date: datetime
    size_bytes: int
    backup_job_id: str
    lifecycle: dict[str, Any] | None = None
    created_by: dict[str, str] | None = None
    resource_name: str | None = None
    status: str = "COMPLETED"

    def to_api(self) -> dict[str, Any]:
        """The `RecoveryPointByBackupVault` / `DescribeRecoveryPointOutput` members."""
        return {
            "RecoveryPointArn": self.arn, "BackupVaultName": self.vault_name,
            "BackupVaultArn": self.vault_arn, "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type, "CreatedBy": self.created_by,
            "IamRoleArn": self.iam_role_arn, "Status": self.status,
            "CreationDate": self.creation_date, "InitiationDate": self.creation_date,
            "CompletionDate": self.completion_date, "BackupSizeInBytes": self.size_bytes,
            "Lifecycle": self.lifecycle, "CalculatedLifecycle": self.calculated_lifecycle(),
            "IsEncrypted": False, "StorageClass": "WARM", "IsParent": False,
            "ResourceName": self.resource_name, "VaultType": "BACKUP_VAULT",
        }

    def to_api_by_resource(self) -> dict[str, Any]:
        """The `RecoveryPointByResource` members (note AWS's `BackupSizeBytes` here)."""
        return {
            "RecoveryPointArn": self.arn, "CreationDate": self.creation_date,
            "Status": self.status, "BackupSizeBytes": self.size_bytes,
            "BackupVaultName": self.vault_name, "IsParent": False,
            "ResourceName": self.resource_name, "VaultType": "BACKUP_VAULT",
        }

    def calculated_lifecycle(self) -> dict[str, Any] | None:
        """`DeleteAt` / `MoveToColdStorageAt` from the lifecycle, as AWS derives them."""
        if not self.lifecycle:
            return None
        out: dict[str, Any] = {}
        if (days := self.lifecycle.get("DeleteAfterDays")) is not None:
            out["DeleteAt"] = self.creation_date + timedelta(days=int(days))
        if (days := self.lifecycle.get("MoveToColdStorageAfterDays")) is not None:
            out["MoveToColdStorageAt"] = self.creation_date + timedelta(days=int(days))
        return out or None


@dataclass(slots=True)
class RestoreJob:
    """One restore job started by `StartRestoreJob`."""

    job_id: str
    account: str
    region: str
    recovery_point_arn: str
    source_resource_arn: str
    vault_arn: str | None
    resource_type: str
    iam_role_arn: str | None
    metadata: dict[str, str]
    creation_date: datetime
    timetable: Timetable
    size_bytes: int
    recovery_point_creation_date: datetime | None = None
    status: str = "PENDING"
    status_message: str | None = None
    completion_date: datetime | None = None
    created_resource_arn: str | None = None
    idempotency_token: str | None = None

    @property
    def terminal(self) -> bool:
        return self.status in RESTORE_TERMINAL

    def to_api(self) -> dict[str, Any]:
        """The `RestoreJobsListMember` / `DescribeRestoreJobOutput` members."""
        return {
            "AccountId": self.account, "RestoreJobId": self.job_id,
            "RecoveryPointArn": self.recovery_point_arn,
            "SourceResourceArn": self.source_resource_arn, "BackupVaultArn": self.vault_arn,
            "CreationDate": self.creation_date, "CompletionDate": self.completion_date,
            "Status": self.status, "StatusMessage": self.status_message,
            "PercentDone": "100.0" if self.status == "COMPLETED" else "0.0",
            "BackupSizeInBytes": self.size_bytes, "IamRoleArn": self.iam_role_arn,
            "CreatedResourceArn": self.created_resource_arn, "ResourceType": self.resource_type,
            "RecoveryPointCreationDate": self.recovery_point_creation_date,
        }


@dataclass(slots=True)
class PlanVersion:
    """One earlier version of a backup plan (the current one lives in moto's backend)."""

    plan_id: str
    plan_arn: str
    version_id: str
    creation_date: datetime
    document: dict[str, Any]
    creator_request_id: str | None = None
    deletion_date: datetime | None = None

    def to_list_member(self) -> dict[str, Any]:
        """`BackupPlansListMember`, as `ListBackupPlanVersions` lists it."""
        return {"BackupPlanArn": self.plan_arn, "BackupPlanId": self.plan_id,
                "CreationDate": self.creation_date, "DeletionDate": self.deletion_date,
                "VersionId": self.version_id, "BackupPlanName": self.document["BackupPlanName"],
                "CreatorRequestId": self.creator_request_id,
                "AdvancedBackupSettings": self.document.get("AdvancedBackupSettings")}


@dataclass(slots=True)
class BackupSelection:
    """One resource assignment of a backup plan (`GetBackupSelection`)."""

    selection_id: str
    plan_id: str
    document: dict[str, Any]
    creation_date: datetime
    creator_request_id: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {"BackupSelection": self.document, "SelectionId": self.selection_id,
                "BackupPlanId": self.plan_id, "CreationDate": self.creation_date,
                "CreatorRequestId": self.creator_request_id}

    def to_list_member(self) -> dict[str, Any]:
        """`BackupSelectionsListMember`."""
        return {"SelectionId": self.selection_id, "SelectionName": self.document["SelectionName"],
                "BackupPlanId": self.plan_id, "CreationDate": self.creation_date,
                "CreatorRequestId": self.creator_request_id,
                "IamRoleArn": self.document["IamRoleArn"]}
