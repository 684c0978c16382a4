"""Thin reads of what an on-demand restore can restore: native backups and recovery points.

Every answer is core data (`on_demand.Source`); a backup that does not exist is None, never
an exception. Nothing here decides which one to take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from daemon.aws.errors import error_code
from daemon.core import arns
from daemon.core.clock import aware_time
from daemon.core.tasks.on_demand import Source

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_dynamodb.client import DynamoDBClient

    from daemon.aws.session import Connect

NOT_FOUND = frozenset({"ResourceNotFoundException", "BackupNotFoundException",
                       "TableNotFoundException"})


class RestoreSources:
    """Lookups of backups by ARN and by table, in the account of the clients given (the
    daemon's own, or a member's through its role)."""

    def __init__(self, dynamodb: Connect[DynamoDBClient], backup: Connect[BackupClient],
                 region: str) -> None:
        self._dynamodb, self._backup, self._region = dynamodb, backup, region

    async def native(self, arn: str) -> Source | None:
        """DescribeBackup of a DynamoDB backup ARN, or None."""
        ddb = await self._dynamodb()
        try:
            resp = await ddb.describe_backup(BackupArn=arn)
        except ClientError as exc:
            if error_code(exc) in NOT_FOUND:
                return None
            raise
        desc = resp["BackupDescription"]
        details = desc["BackupDetails"]
        return Source(arn, desc["SourceTableDetails"]["TableName"],
                      aware_time(details["BackupCreationDateTime"]), details["BackupStatus"])

    async def recovery_point(self, arn: str) -> Source | None:
        """DescribeRecoveryPoint in whichever vault holds it (the ARN does not say), or None."""
        backup = await self._backup()
        for vault in await self._vaults():
            try:
                point = await backup.describe_recovery_point(BackupVaultName=vault,
                                                             RecoveryPointArn=arn)
            except ClientError as exc:
                if error_code(exc) in NOT_FOUND:
                    continue
                raise
            return _point(dict(point), vault)
        return None

    async def of_table(self, table: str) -> list[Source]:
        """Every native backup and recovery point of `table` (the table may be gone)."""
        ddb = await self._dynamodb()
        found: list[Source] = []
        kwargs: dict[str, Any] = {"TableName": table}
        while True:
            page = await ddb.list_backups(**kwargs)
            found += [Source(item["BackupArn"], table,
                             aware_time(item["BackupCreationDateTime"]),
                             item.get("BackupStatus", ""))
                      for item in page.get("BackupSummaries", [])]
            if not page.get("LastEvaluatedBackupArn"):
                break
            kwargs["ExclusiveStartBackupArn"] = page["LastEvaluatedBackupArn"]
        table_arn = await self._table_arn(table)
        return found + (await self._points_of(table_arn) if table_arn else [])

    async def _points_of(self, table_arn: str) -> list[Source]:
        backup = await self._backup()
        table = arns.table_name(table_arn) or table_arn
        found: list[Source] = []
        kwargs: dict[str, Any] = {"ResourceArn": table_arn}
        while True:
            page = await backup.list_recovery_points_by_resource(**kwargs)
            found += [Source(p["RecoveryPointArn"], table, aware_time(p["CreationDate"]),
                             p.get("Status", ""), p.get("BackupVaultName"))
                      for p in page.get("RecoveryPoints", [])]
            if not page.get("NextToken"):
                return found
            kwargs["NextToken"] = page["NextToken"]

    async def _table_arn(self, table: str) -> str | None:
        """The table's ARN; when the table is gone (a restore after a deletion is what this
        command is for), built from the account of any vault: None without a vault, where no
        recovery point can be either."""
        ddb = await self._dynamodb()
        try:
            return str((await ddb.describe_table(TableName=table))["Table"]["TableArn"])
        except ClientError as exc:
            if error_code(exc) not in NOT_FOUND:
                raise
        backup = await self._backup()
        vaults = (await backup.list_backup_vaults(MaxResults=1)).get("BackupVaultList", [])
        parsed = arns.parse(vaults[0]["BackupVaultArn"]) if vaults else None
        if parsed is None:
            return None
        return f"arn:aws:dynamodb:{self._region}:{parsed.account}:table/{table}"

    async def _vaults(self) -> list[str]:
        backup = await self._backup()
        names: list[str] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = await backup.list_backup_vaults(**kwargs)
            names += [v["BackupVaultName"] for v in page.get("BackupVaultList", [])]
            if not page.get("NextToken"):
                return names
            kwargs["NextToken"] = page["NextToken"]


def _point(point: dict[str, Any], vault: str) -> Source:
    table = arns.table_name(point.get("ResourceArn", "")) or point.get("ResourceName", "")
    return Source(point["RecoveryPointArn"], table, aware_time(point["CreationDate"]),
                  point.get("Status", ""), vault)
