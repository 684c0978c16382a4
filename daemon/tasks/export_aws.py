"""Thin DynamoDB / RDS / AWS Backup calls of exports: start, describe, find, delete the source.

Statuses come back normalised to upper case (moto says `complete`, RDS `COMPLETE`,
DynamoDB `COMPLETED`); the caller compares against `core.exports.TERMINAL`/`SUCCEEDED`.

One `ExportAws` acts in one account: a member account's exports start there, through its
role, and write to the rule's bucket, by default the daemon's own account's
(`S3BucketOwner`, unless the rule names the bucket's owner).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from daemon.aws.errors import error_code
from daemon.config.tasks import ExportRule
from daemon.core import arns
from daemon.core.errors import PermanentError
from daemon.core.tasks.exports import ExportPlan, Pitr, rds_task_identifier

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_dynamodb.client import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import (
        ExportDescriptionTypeDef,
        ExportTableToPointInTimeInputTypeDef,
        ListExportsInputTypeDef,
        ListTablesInputTypeDef,
    )
    from types_aiobotocore_rds.client import RDSClient
    from types_aiobotocore_rds.type_defs import StartExportTaskMessageTypeDef

    from daemon.aws.session import Connect


class ExportAws:
    """The calls one export makes, in one account: `account` (None: the daemon's own, which
    `home` answers). A member account's DynamoDB exports name the daemon's own account as
    the bucket's owner unless the rule names one; `{account}` in an RDS rule's role and key
    is the account the export runs in."""

    def __init__(self, dynamodb: Connect[DynamoDBClient], rds: Connect[RDSClient],
                 backup: Connect[BackupClient], *, account: str | None = None,
                 home: Callable[[], Awaitable[str]] | None = None) -> None:
        self._dynamodb = dynamodb
        self._rds = rds
        self._backup = backup
        self._account = account
        self._home = home

    async def _bucket_owner(self, rule: ExportRule) -> str | None:
        if rule.bucket_owner or self._account is None or self._home is None:
            return rule.bucket_owner
        home = await self._home()
        return home if home != self._account else None

    async def pitr(self, table: str) -> Pitr:
        ddb = await self._dynamodb()
        resp = await ddb.describe_continuous_backups(TableName=table)
        desc = resp["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
        return Pitr(desc.get("PointInTimeRecoveryStatus") == "ENABLED",
                    desc.get("EarliestRestorableDateTime"), desc.get("LatestRestorableDateTime"))

    async def start_dynamodb(self, plan: ExportPlan, rule: ExportRule,
                             window: tuple[datetime, datetime] | None) -> str:
        """ExportTableToPointInTime; the plan's token is the ClientToken (AWS dedupes 8 h)."""
        ddb = await self._dynamodb()
        kwargs: ExportTableToPointInTimeInputTypeDef = {
            "TableArn": plan.resource_arn, "S3Bucket": rule.bucket, "ClientToken": plan.token,
            "S3Prefix": plan.key_prefix.rstrip("/"), "ExportFormat": rule.format}
        if owner := await self._bucket_owner(rule):
            kwargs["S3BucketOwner"] = owner
        if rule.kms_key_id:
            kwargs["S3SseAlgorithm"], kwargs["S3SseKmsKeyId"] = "KMS", rule.kms_key_id
        if window is None:
            kwargs["ExportType"], kwargs["ExportTime"] = "FULL_EXPORT", plan.at
        else:
            kwargs["ExportType"] = "INCREMENTAL_EXPORT"
            kwargs["IncrementalExportSpecification"] = {
                "ExportFromTime": window[0], "ExportToTime": window[1],
                "ExportViewType": rule.incremental_view}
        resp = await ddb.export_table_to_point_in_time(**kwargs)
        return resp["ExportDescription"]["ExportArn"]

    async def find_dynamodb(self, plan: ExportPlan, rule: ExportRule) -> str | None:
        """An export this plan already started (ListExports): same ClientToken, or same
        bucket, prefix and time where AWS does not return the token."""
        ddb = await self._dynamodb()
        kwargs: ListExportsInputTypeDef = {"TableArn": plan.resource_arn}
        while True:
            resp = await ddb.list_exports(**kwargs)
            for summary in resp.get("ExportSummaries", []):
                desc = (await ddb.describe_export(ExportArn=summary["ExportArn"]))[
                    "ExportDescription"]
                if _same_export(desc, plan, rule):
                    return str(summary["ExportArn"])
            if not resp.get("NextToken"):
                return None
            kwargs["NextToken"] = resp["NextToken"]

    async def dynamodb_status(self, export_arn: str) -> tuple[str, str | None]:
        """(status, failure reason) of a DynamoDB export."""
        ddb = await self._dynamodb()
        desc = (await ddb.describe_export(ExportArn=export_arn))["ExportDescription"]
        reason = " ".join(text for text in (desc.get("FailureCode"), desc.get("FailureMessage"))
                          if text)
        return str(desc.get("ExportStatus", "")).upper(), reason or None

    async def start_rds(self, plan: ExportPlan, rule: ExportRule) -> str:
        """StartExportTask of the snapshot, Parquet to S3 with the rule's role and key."""
        rds = await self._rds()
        ident = rds_task_identifier(plan.rule, plan.token)
        if plan.source is None:
            raise PermanentError(f"RDS export {plan.name}: no snapshot to export")
        account = self._account or (await self._home() if self._home else None)
        role, key = rule.rds_access(account)
        kwargs: StartExportTaskMessageTypeDef = {
            "ExportTaskIdentifier": ident, "SourceArn": plan.source,
            "S3BucketName": rule.bucket, "S3Prefix": plan.key_prefix.rstrip("/"),
            "IamRoleArn": role, "KmsKeyId": key}
        if rule.export_only:
            kwargs["ExportOnly"] = rule.export_only
        await rds.start_export_task(**kwargs)
        return ident

    async def rds_status(self, ident: str) -> tuple[str, str | None] | None:
        """(status, failure cause) of an RDS export task; None if there is no such task."""
        rds = await self._rds()
        try:
            resp = await rds.describe_export_tasks(ExportTaskIdentifier=ident)
        except ClientError as exc:
            if error_code(exc) == "ExportTaskNotFound":
                return None
            raise
        tasks = resp.get("ExportTasks", [])
        if not tasks:
            return None
        return str(tasks[0].get("Status", "")).upper(), tasks[0].get("FailureCause")

    async def delete_source(self, source: str, vault: str) -> None:
        """Delete the recovery point an export came from. Only one in a vault of the rule is
        ever deleted (the config requires `vaults:`), so always through AWS Backup, which
        deletes a recovery point by vault and ARN, an RDS snapshot's too."""
        backup = await self._backup()
        await backup.delete_recovery_point(BackupVaultName=vault, RecoveryPointArn=source)

    async def table_arns(self, pattern_matches: Callable[[str], bool]) -> list[str]:
        """ARNs of the tables whose name `pattern_matches` (scheduled DynamoDB exports)."""
        ddb = await self._dynamodb()
        names: list[str] = []
        kwargs: ListTablesInputTypeDef = {}
        while True:
            resp = await ddb.list_tables(**kwargs)
            names += [n for n in resp.get("TableNames", []) if pattern_matches(n)]
            if not resp.get("LastEvaluatedTableName"):
                break
            kwargs["ExclusiveStartTableName"] = resp["LastEvaluatedTableName"]
        return [(await ddb.describe_table(TableName=n))["Table"]["TableArn"] for n in names]

    async def newest_snapshots(
            self, pattern_matches: Callable[[str], bool]) -> list[tuple[str, str, datetime]]:
        """(DB ARN, snapshot ARN, time) of the newest available snapshot of every DB instance
        and cluster whose identifier `pattern_matches` (scheduled RDS exports)."""
        rds = await self._rds()
        snapshots: list[tuple[str, str | None, str | None, datetime | None, str | None]] = [
            ("db", snap.get("DBInstanceIdentifier"), snap.get("DBSnapshotArn"),
             snap.get("SnapshotCreateTime"), snap.get("Status"))
            async for page in rds.get_paginator("describe_db_snapshots").paginate()
            for snap in page.get("DBSnapshots", [])]
        snapshots += [
            ("cluster", snap.get("DBClusterIdentifier"), snap.get("DBClusterSnapshotArn"),
             snap.get("SnapshotCreateTime"), snap.get("Status"))
            async for page in rds.get_paginator("describe_db_cluster_snapshots").paginate()
            for snap in page.get("DBClusterSnapshots", [])]
        newest: dict[str, tuple[str, str, datetime]] = {}
        for kind, name, arn, when, status in snapshots:
            if status != "available" or not name or not arn or when is None or \
                    not pattern_matches(name):
                continue
            snapshot = arns.parse(arn)
            if snapshot is None:
                continue
            db_arn = str(replace(snapshot, resource=f"{kind}:{name}"))
            if db_arn not in newest or newest[db_arn][2] < when:
                newest[db_arn] = (db_arn, arn, when)
        return list(newest.values())


def _same_export(desc: ExportDescriptionTypeDef, plan: ExportPlan, rule: ExportRule) -> bool:
    if desc.get("ClientToken"):
        return bool(desc["ClientToken"] == plan.token)
    same_place = desc.get("S3Bucket") == rule.bucket and \
        desc.get("S3Prefix") == plan.key_prefix.rstrip("/")
    return same_place and desc.get("ExportTime") == plan.at
