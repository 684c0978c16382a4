"""Table discovery: ListTables (paginated to any size), plus each table's ARN, size and tags.

Names are listed on every refresh, so a schedule follows tables that appear and disappear.
Details cost one DescribeTable (and one ListTagsOfResource when a schedule selects by tag)
per table, so they are fetched for new tables at once and refreshed once DETAILS_MAX_AGE
has passed; DynamoDB itself updates `TableSizeBytes` only about every six hours. The
catalog is in memory only: a restart lists again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from daemon.aws.errors import error_code
from daemon.aws.throttle import Throttle
from daemon.core.clock import Clock, aware_time
from daemon.kernel.supervisor import sleep_or_stop
from daemon.obs.metrics_scheduler import SchedulerMetrics

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.client import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import (
        ListTablesInputTypeDef,
        ListTagsOfResourceInputTypeDef,
    )

    from daemon.aws.session import Connect

log = structlog.get_logger(__name__)
DETAILS_MAX_AGE = timedelta(hours=1)
PAGE = 100


@dataclass(frozen=True, slots=True)
class TableInfo:
    """What the scheduler needs of one table. `tags` is None until fetched (or not needed)."""

    name: str
    arn: str | None = None
    size_bytes: int = 0
    tags: Mapping[str, str] | None = None
    fetched: datetime | None = None
    created: datetime | None = None


@dataclass
class TableCatalog:
    """The tables of the account and region, refreshed every `discovery_interval_seconds`."""

    dynamodb: Connect[DynamoDBClient]
    throttle: Throttle
    clock: Clock
    metrics: SchedulerMetrics
    interval_seconds: float
    want_tags: bool = False
    name: str = "table-discovery"
    tables: dict[str, TableInfo] = field(default_factory=dict)
    version: int = 0
    listed: asyncio.Event = field(default_factory=asyncio.Event)  # names known (details may not be)
    refreshed: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, stop: asyncio.Event) -> None:
        interval = self.interval_seconds
        while not stop.is_set():
            try:
                await self.run_once()
            except Exception as exc:
                log.warning("discovery.failed", error=str(exc), code=error_code(exc))
            if await sleep_or_stop(interval, stop):
                return

    async def run_once(self) -> None:
        """List every table, drop the gone ones, fetch details of new and stale ones."""
        names = await self._list_names()
        before = set(self.tables)
        for gone in before - names:
            del self.tables[gone]
        for name in names - before:
            self.tables[name] = TableInfo(name)
        self.listed.set()
        now = self.clock.now()
        stale = [t.name for t in self.tables.values()
                 if t.fetched is None or now - t.fetched > DETAILS_MAX_AGE]
        await asyncio.gather(*(self._fetch(name, now) for name in stale))
        if names != before or stale:
            self.version += 1
        self.metrics.discovered_tables(len(self.tables))
        self.refreshed.set()
        log.info("discovery.refreshed", tables=len(self.tables), added=len(names - before),
                 removed=len(before - names), details_fetched=len(stale))

    async def _list_names(self) -> set[str]:
        ddb = await self.dynamodb()
        names: set[str] = set()
        kwargs: ListTablesInputTypeDef = {"Limit": PAGE}
        while True:
            page = await self.throttle.call(ddb.list_tables, **kwargs)
            names.update(page.get("TableNames", []))
            last = page.get("LastEvaluatedTableName")
            if not last:
                return names
            kwargs["ExclusiveStartTableName"] = last

    async def _fetch(self, name: str, now: datetime) -> None:
        """DescribeTable (+ tags); a table deleted meanwhile simply drops out."""
        ddb = await self.dynamodb()
        try:
            table = (await self.throttle.call(ddb.describe_table, TableName=name))["Table"]
            arn = table["TableArn"]
            tags = await self._tags(ddb, arn) if self.want_tags else None
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                self.tables.pop(name, None)
                return
            log.warning("discovery.details_failed", table=name, error=str(exc))
            return
        if name in self.tables:
            created = table.get("CreationDateTime")
            self.tables[name] = TableInfo(name, arn, int(table.get("TableSizeBytes") or 0),
                                          tags, now, aware_time(created) if created else None)

    async def _tags(self, ddb: DynamoDBClient, arn: str) -> dict[str, str]:
        tags: dict[str, str] = {}
        kwargs: ListTagsOfResourceInputTypeDef = {"ResourceArn": arn}
        while True:
            page = await self.throttle.call(ddb.list_tags_of_resource, **kwargs)
            tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
            token = page.get("NextToken")
            if not token:
                return tags
            kwargs["NextToken"] = token

    def get(self, name: str) -> TableInfo | None:
        return self.tables.get(name)
