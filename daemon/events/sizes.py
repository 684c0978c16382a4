"""Table sizes for jobs whose events carry none: DescribeTable's TableSizeBytes, cached with a TTL.

A table that no longer exists is logged, not fatal: the job keeps an unknown size (0 bytes in
the totals) until an event or a reconcile brings one. The table is named by its ARN
(DescribeTable accepts one), so a table of another account is never mistaken for one of the
same name in the daemon's: AWS answers for it only where a resource-based policy lets the
daemon read it, and a refusal is remembered for the TTL like an answer. A table of another region (events come
from a whole Organization) is not looked up in this one, where a table of the same name
would give a wrong size: its job keeps an unknown size until an event brings one. With
member accounts' roles (`organization.role_arn_template`) a member's table is described in
its own account, through its assumed-role session.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Protocol

import structlog

from daemon.aws.errors import permanent
from daemon.core import arns

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.client import DynamoDBClient

    from daemon.aws.session import Connect

log = structlog.get_logger(__name__)


class Members(Protocol):
    """DynamoDB in a member account through its role (`daemon.aws.accounts.MemberSessions`)."""

    async def dynamodb(self, account: str) -> DynamoDBClient | None: ...


def table_name(resource_arn: str | None) -> str | None:
    """The table name of a DynamoDB table ARN (not of a backup's or an export's), else None."""
    return arns.table_name(resource_arn) if arns.is_table(resource_arn) else None


class _NoSessionError(Exception):
    """A member account's role cannot be assumed now (not cached: asked again later)."""


class SizeResolver:
    """Looks up and caches table sizes (TTL `size_cache_seconds`)."""

    def __init__(self, dynamodb: Connect[DynamoDBClient], ttl_seconds: float,
                 region: str | None = None, members: Members | None = None) -> None:
        self._dynamodb = dynamodb
        self._region = region
        self._members = members
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, int | None]] = {}
        self._pending: dict[str, asyncio.Future[int | None]] = {}

    async def size_of(self, resource_arn: str | None) -> int | None:
        """The table's size; concurrent asks for one table share a single DescribeTable."""
        name = table_name(resource_arn)
        if name is None or resource_arn is None or not self._here(resource_arn):
            return None
        hit = self._cache.get(resource_arn)
        if hit is not None and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        pending = self._pending.get(resource_arn)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._pending[resource_arn] = future
        try:
            size = await self._lookup(name, resource_arn)
        except BaseException:  # cancelled: the others get no size rather than hang
            future.set_result(None)
            raise
        finally:
            del self._pending[resource_arn]
        future.set_result(size)
        return size

    def _here(self, resource_arn: str) -> bool:
        """The table is in the region the client calls (or no region is known)."""
        parsed = arns.parse(resource_arn)
        return self._region is None or parsed is None or parsed.region in ("", self._region)

    async def _lookup(self, name: str, resource_arn: str) -> int | None:
        now = time.monotonic()
        try:
            size = await self._describe(name, resource_arn)
        except Exception as exc:  # transient: not cached, asked again next time
            log.warning("size.lookup_failed", table=name, resource_arn=resource_arn,
                        error=str(exc))
            if not permanent(exc):
                return None
            size = None  # refused for good (access denied): remembered for the TTL
        self._cache[resource_arn] = (now, size)
        if len(self._cache) > 50_000:  # bounded: drop the oldest half
            for key in sorted(self._cache, key=lambda k: self._cache[k][0])[:25_000]:
                del self._cache[key]
        return size

    async def _describe(self, name: str, resource_arn: str) -> int | None:
        account = arns.parse(resource_arn)
        if self._members is not None and account is not None and account.account:
            member = await self._members.dynamodb(account.account)
            if member is None:  # its role cannot be assumed now: reported, asked again later
                raise _NoSessionError(account.account)
            dynamodb = member
        else:
            dynamodb = await self._dynamodb()
        try:
            resp = await dynamodb.describe_table(TableName=resource_arn)
        except dynamodb.exceptions.ResourceNotFoundException:
            log.info("size.table_gone", table=name, resource_arn=resource_arn)
            return None
        return int(resp["Table"].get("TableSizeBytes", 0))
