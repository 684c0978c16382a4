"""Thin DynamoDB / AWS Backup / SSM calls of restores: every read turns AWS into core data.

Nothing here decides anything: it reads tables into `RestoredCopy`, starts restores,
tags, reads back items, moves the SSM parameter and deletes tables it is told to. One
`RestoreAws` acts in one account (a member account's clients reach it through its role).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from daemon.aws.errors import error_code
from daemon.config.tasks import RestoreRule, TableSettings
from daemon.core.errors import PermanentError
from daemon.core.tasks.restore_triggers import RestorePlan
from daemon.core.tasks.rotation import RestoredCopy

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_backup.type_defs import (
        DescribeRestoreJobOutputTypeDef,
        ListRestoreJobsInputTypeDef,
        RestoreJobsListMemberTypeDef,
    )
    from types_aiobotocore_dynamodb.client import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import (
        ListTablesInputTypeDef,
        ListTagsOfResourceInputTypeDef,
        RestoreTableFromBackupInputTypeDef,
        ScanInputTypeDef,
        TableDescriptionTypeDef,
        UpdateTableInputTypeDef,
    )
    from types_aiobotocore_ssm.client import SSMClient

    from daemon.aws.session import Connect


class RestoreAws:
    """The calls one restore makes, in one account: `account` (None: the daemon's own,
    which `home` answers; `{account}` in a StartRestoreJob role is the account's id)."""

    def __init__(self, dynamodb: Connect[DynamoDBClient], backup: Connect[BackupClient],
                 ssm: Connect[SSMClient], *, restore_role_arn: str | None,
                 account: str | None = None,
                 home: Callable[[], Awaitable[str]] | None = None) -> None:
        self._dynamodb = dynamodb
        self._backup = backup
        self._ssm = ssm
        self._restore_role_arn = restore_role_arn
        self._account = account
        self._home = home

    async def describe(self, name: str) -> TableDescriptionTypeDef | None:
        """DescribeTable, or None when there is no such table."""
        ddb = await self._dynamodb()
        try:
            resp = await ddb.describe_table(TableName=name)
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        return resp["Table"]

    async def copy(self, name: str) -> RestoredCopy | None:
        """The table under `name` with its tags, or None (also when it is deleted between
        the two reads: a rotation running at the same time)."""
        table = await self.describe(name)
        if table is None:
            return None
        try:
            tags = await self.tags(table["TableArn"])
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        summary = table.get("RestoreSummary")
        return RestoredCopy(name, table["TableArn"], table.get("TableStatus", ""), tags,
                            summary.get("SourceBackupArn") if summary else None)

    async def tags(self, arn: str) -> dict[str, str]:
        ddb = await self._dynamodb()
        out: dict[str, str] = {}
        kwargs: ListTagsOfResourceInputTypeDef = {"ResourceArn": arn}
        while True:
            resp = await ddb.list_tags_of_resource(**kwargs)
            out.update({t["Key"]: t["Value"] for t in resp.get("Tags", [])})
            if not resp.get("NextToken"):
                return out
            kwargs["NextToken"] = resp["NextToken"]

    async def table_names(self) -> AsyncIterator[str]:
        ddb = await self._dynamodb()
        kwargs: ListTablesInputTypeDef = {}
        while True:
            resp = await ddb.list_tables(**kwargs)
            for name in resp.get("TableNames", []):
                yield name
            if not resp.get("LastEvaluatedTableName"):
                return
            kwargs["ExclusiveStartTableName"] = resp["LastEvaluatedTableName"]

    async def tag(self, arn: str, tags: dict[str, str]) -> None:
        ddb = await self._dynamodb()
        await ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": k, "Value": v}
                                                      for k, v in tags.items()])

    async def restore_native(self, plan: RestorePlan, rule: RestoreRule) -> None:
        """RestoreTableFromBackup with the rule's overrides."""
        ddb = await self._dynamodb()
        await ddb.restore_table_from_backup(**native_restore(plan, rule.table_settings))

    async def start_restore_job(self, plan: RestorePlan, rule: RestoreRule) -> str:
        """StartRestoreJob with an idempotency token: a retry returns the same job."""
        backup = await self._backup()
        role = rule.iam_role_arn or self._restore_role_arn
        if not role:
            raise PermanentError(f"rule {rule.name}: restoring AWS Backup recovery point "
                                 f"{plan.source_backup} needs a role for StartRestoreJob: set "
                                 "tasks.restore_role_arn or the rule's iam_role_arn")
        if "{account}" in role:
            account = self._account or (await self._home() if self._home else None)
            if account is None:
                raise PermanentError(f"rule {rule.name}: the restore role {role} names "
                                     "{account}, but the account is unknown")
            role = role.replace("{account}", account)
        token = hashlib.sha256(f"{plan.rule}|{plan.source_backup}|{plan.target}".encode())
        resp = await backup.start_restore_job(
            RecoveryPointArn=plan.source_backup, ResourceType="DynamoDB", IamRoleArn=role,
            Metadata=job_metadata(plan.target, rule.table_settings),
            IdempotencyToken=token.hexdigest()[:32])
        return resp["RestoreJobId"]

    async def restore_job(self, job_id: str) -> DescribeRestoreJobOutputTypeDef:
        backup = await self._backup()
        return await backup.describe_restore_job(RestoreJobId=job_id)

    async def open_restore_jobs(self) -> list[RestoreJobsListMemberTypeDef]:
        """DynamoDB restore jobs still PENDING or RUNNING (in flight across a restart)."""
        backup = await self._backup()
        jobs: list[RestoreJobsListMemberTypeDef] = []
        for status in ("PENDING", "RUNNING"):
            kwargs: ListRestoreJobsInputTypeDef = {"ByStatus": status,
                                                   "ByResourceType": "DynamoDB"}
            while True:
                resp = await backup.list_restore_jobs(**kwargs)
                jobs.extend(resp.get("RestoreJobs", []))
                if not resp.get("NextToken"):
                    break
                kwargs["NextToken"] = resp["NextToken"]
        return jobs

    async def update_billing(self, name: str, settings: TableSettings) -> bool:
        """Apply billing overrides AWS Backup's restore cannot take; True if it changed."""
        if settings.billing_mode is None:
            return False
        ddb = await self._dynamodb()
        kwargs: UpdateTableInputTypeDef = {"TableName": name, "BillingMode": settings.billing_mode}
        if (capacity := settings.provisioned()) is not None:
            kwargs["ProvisionedThroughput"] = {"ReadCapacityUnits": capacity[0],
                                               "WriteCapacityUnits": capacity[1]}
        await ddb.update_table(**kwargs)
        return True

    async def count_at_least(self, name: str, minimum: int) -> int:
        """Scan with Select=COUNT until `minimum` items are seen (or the table ends)."""
        ddb = await self._dynamodb()
        seen = 0
        kwargs: ScanInputTypeDef = {"TableName": name, "Select": "COUNT"}
        while seen < minimum:
            resp = await ddb.scan(**kwargs)
            seen += int(resp.get("Count", 0))
            if not resp.get("LastEvaluatedKey"):
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return seen

    async def read_back(self, name: str, count: int, key_names: list[str]) -> tuple[int, int]:
        """Scan `count` items, then GetItem each by key (consistent): (read, found)."""
        ddb = await self._dynamodb()
        items = (await ddb.scan(TableName=name, Limit=count)).get("Items", [])
        found = 0
        for item in items:
            got = await ddb.get_item(TableName=name, ConsistentRead=True,
                                     Key={k: item[k] for k in key_names})
            found += 1 if got.get("Item") else 0
        return len(items), found

    async def ssm_value(self, name: str) -> str | None:
        ssm = await self._ssm()
        try:
            resp = await ssm.get_parameter(Name=name)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise
        return str(resp["Parameter"]["Value"])

    async def put_ssm(self, name: str, value: str) -> None:
        ssm = await self._ssm()
        await ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)

    async def delete_table(self, name: str) -> bool:
        """DeleteTable; False when the table is gone or being deleted already (another
        rotation of the same rule, here or on the replica before a handover, got there
        first)."""
        ddb = await self._dynamodb()
        try:
            await ddb.delete_table(TableName=name)
        except ClientError as exc:
            code = error_code(exc)
            if code == "ResourceNotFoundException":
                return False
            if code == "ResourceInUseException":
                table = await self.describe(name)
                if table is None or table.get("TableStatus") == "DELETING":
                    return False
            raise
        return True


def native_restore(plan: RestorePlan, settings: TableSettings | None,
                   ) -> RestoreTableFromBackupInputTypeDef:
    """RestoreTableFromBackup's request, with the *Override parameters of the rule's
    table_settings."""
    out: RestoreTableFromBackupInputTypeDef = {"TargetTableName": plan.target,
                                               "BackupArn": plan.source_backup}
    if settings is None:
        return out
    if settings.billing_mode:
        out["BillingModeOverride"] = settings.billing_mode
    if (capacity := settings.provisioned()) is not None:
        out["ProvisionedThroughputOverride"] = {"ReadCapacityUnits": capacity[0],
                                                "WriteCapacityUnits": capacity[1]}
    if settings.sse == "aws-owned":
        out["SSESpecificationOverride"] = {"Enabled": False}
    elif settings.sse == "kms":
        out["SSESpecificationOverride"] = {"Enabled": True, "SSEType": "KMS"}
        if settings.kms_key_id:
            out["SSESpecificationOverride"]["KMSMasterKeyId"] = settings.kms_key_id
    return out


def job_metadata(target: str, settings: TableSettings | None) -> dict[str, str]:
    """StartRestoreJob's DynamoDB metadata: the target name and encryption."""
    meta = {"targetTableName": target}
    if settings is not None and settings.sse == "kms":
        meta["encryptionType"] = "KMS"
        if settings.kms_key_id:
            meta["kmsMasterKeyArn"] = settings.kms_key_id
    elif settings is not None and settings.sse == "aws-owned":
        meta["encryptionType"] = "Default"
    return meta
