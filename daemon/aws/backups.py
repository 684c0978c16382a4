"""Native DynamoDB backups as ListBackups returns them, read as the scheduler's facts.

Shared by the scheduler (what is done, what retention may delete) and the tasks' catch-up
(which scheduled backups completed): one listing, paginated to any size, through the
caller's throttle so each capability keeps its own rate budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from daemon.aws.throttle import Throttle
from daemon.core.clock import aware_time
from daemon.core.scheduling.inventory import Listed, native_owner

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.client import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import BackupSummaryTypeDef, ListBackupsInputTypeDef


async def list_native_backups(ddb: DynamoDBClient, throttle: Throttle, *, prefix: str,
                              schedules: Iterable[str], since: datetime | None = None,
                              table: str | None = None) -> list[Listed]:
    """Every USER backup (of `table`, created since `since`), attributed to its schedule
    by name."""
    names = tuple(schedules)
    kwargs: ListBackupsInputTypeDef = {"BackupType": "USER", "Limit": 100}
    if since is not None:
        kwargs["TimeRangeLowerBound"] = since
    if table is not None:
        kwargs["TableName"] = table
    found: list[Listed] = []
    while True:
        page = await throttle.call(ddb.list_backups, **kwargs)
        found.extend(_listed(item, prefix, names) for item in page.get("BackupSummaries", []))
        last = page.get("LastEvaluatedBackupArn")
        if not last:
            return found
        kwargs["ExclusiveStartBackupArn"] = last


def _listed(item: BackupSummaryTypeDef, prefix: str, schedules: tuple[str, ...]) -> Listed:
    owner = native_owner(prefix, schedules, item.get("BackupName", ""))
    return Listed(item["TableName"], item["BackupArn"], aware_time(item["BackupCreationDateTime"]),
                  item.get("BackupStatus", "AVAILABLE"), *(owner or (None, None)))
