"""AWS Backup's plan, rule and selection documents, with AWS's member names exactly.

The same models carry what the daemon sends (`CreateBackupPlan`, `UpdateBackupPlan`,
`CreateBackupSelection`) and what AWS answers (`GetBackupPlan`, `GetBackupSelection`), as
botocore's `backup/2018-11-15/service-2.json` spells them. Members the daemon does not manage
(`IndexActions`, `ScheduledRunsPreview`, ...) are ignored on the way in, so a new AWS member
never breaks a pass; `RuleId` is read but never sent.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class AwsShape(BaseModel):
    """Frozen; read by alias (AWS's names) or by field name; unknown members ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    def request(self) -> dict[str, Any]:
        """The document as AWS's request members: aliases, nothing unset."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Lifecycle(AwsShape):
    """`Lifecycle`: when a recovery point moves to cold storage and when it expires."""

    move_to_cold_storage_after_days: int | None = Field(None, alias="MoveToColdStorageAfterDays")
    delete_after_days: int | None = Field(None, alias="DeleteAfterDays")
    opt_in_to_archive: bool | None = Field(None, alias="OptInToArchiveForSupportedResources")


class CopyAction(AwsShape):
    """`CopyAction`: a copy of each recovery point into another vault, with its own lifecycle."""

    destination_vault_arn: str = Field(alias="DestinationBackupVaultArn")
    lifecycle: Lifecycle | None = Field(None, alias="Lifecycle")


class BackupRule(AwsShape):
    """`BackupRule` (answers) and `BackupRuleInput` (requests): one scheduled task of a plan."""

    rule_name: str = Field(alias="RuleName")
    target_vault: str = Field(alias="TargetBackupVaultName")
    schedule_expression: str | None = Field(None, alias="ScheduleExpression")
    timezone: str | None = Field(None, alias="ScheduleExpressionTimezone")
    start_window_minutes: int | None = Field(None, alias="StartWindowMinutes")
    completion_window_minutes: int | None = Field(None, alias="CompletionWindowMinutes")
    lifecycle: Lifecycle | None = Field(None, alias="Lifecycle")
    recovery_point_tags: dict[str, str] | None = Field(None, alias="RecoveryPointTags")
    copy_actions: tuple[CopyAction, ...] | None = Field(None, alias="CopyActions")
    continuous_backup: bool | None = Field(None, alias="EnableContinuousBackup")
    rule_id: str | None = Field(None, alias="RuleId", exclude=True)


class AdvancedBackupSetting(AwsShape):
    """`AdvancedBackupSetting`: backup options of one resource type (the daemon sets none)."""

    resource_type: str | None = Field(None, alias="ResourceType")
    backup_options: dict[str, str] | None = Field(None, alias="BackupOptions")


class BackupPlanDocument(AwsShape):
    """`BackupPlan` (answers) and `BackupPlanInput` (requests): a name and its rules."""

    name: str = Field(alias="BackupPlanName")
    rules: tuple[BackupRule, ...] = Field(alias="Rules")
    advanced_backup_settings: tuple[AdvancedBackupSetting, ...] | None = Field(
        None, alias="AdvancedBackupSettings")


class ConditionParameter(AwsShape):
    """`ConditionParameter`: one tag key and value of a `Conditions` operator."""

    key: str = Field(alias="ConditionKey")
    value: str = Field(alias="ConditionValue")


class Conditions(AwsShape):
    """`Conditions`: tag conditions that must all hold (AND)."""

    string_equals: tuple[ConditionParameter, ...] | None = Field(None, alias="StringEquals")
    string_not_equals: tuple[ConditionParameter, ...] | None = Field(None,
                                                                     alias="StringNotEquals")
    string_like: tuple[ConditionParameter, ...] | None = Field(None, alias="StringLike")
    string_not_like: tuple[ConditionParameter, ...] | None = Field(None, alias="StringNotLike")


class TagCondition(AwsShape):
    """`Condition` of `ListOfTags`: a tag any of which selects a resource (OR)."""

    condition_type: Literal["STRINGEQUALS"] = Field("STRINGEQUALS", alias="ConditionType")
    key: str = Field(alias="ConditionKey")
    value: str = Field(alias="ConditionValue")


class BackupSelectionDocument(AwsShape):
    """`BackupSelection`: which resources a plan backs up, and the role it uses."""

    name: str = Field(alias="SelectionName")
    iam_role_arn: str = Field(alias="IamRoleArn")
    resources: tuple[str, ...] | None = Field(None, alias="Resources")
    not_resources: tuple[str, ...] | None = Field(None, alias="NotResources")
    list_of_tags: tuple[TagCondition, ...] | None = Field(None, alias="ListOfTags")
    conditions: Conditions | None = Field(None, alias="Conditions")
