"""Clients of one member account for the capabilities that act there: the schedules and the
backup plans that list `accounts` (`daemon/scheduling/wire.py`, `daemon/plans/wire.py`).
Every DynamoDB and AWS Backup call of a member's components goes through that account's
assumed-role clients (`Kernel.members`, shared by every capability: one session, one
failure report per account).

A member whose role cannot be assumed answers `AccountUnavailableError` (naming the account)
instead of a client: that pass (discovery, slot, retention, freshness listing, plans
reconcile) is skipped and tried again on the next one, while the other accounts go on. The
failure itself is reported once by the sessions (`account.role_failed`: gauge, `/status`,
one alert). Every log line of an account's components carries `account` (`InAccount`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from daemon.aws.accounts import MemberSessions
from daemon.kernel.supervisor import Component

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_dynamodb.client import DynamoDBClient

    from daemon.aws.session import Connect


class AccountUnavailableError(RuntimeError):
    """The role of a member account cannot be assumed now."""


def member_dynamodb(members: MemberSessions, account: str) -> Connect[DynamoDBClient]:
    """DynamoDB in `account` through its role; raises `AccountUnavailableError` while it fails."""

    async def connect() -> DynamoDBClient:
        return _available(await members.dynamodb(account), members, account)

    return connect


def member_backup(members: MemberSessions, account: str) -> Connect[BackupClient]:
    """AWS Backup in `account` through its role (its jobs, vaults and recovery points);
    raises `AccountUnavailableError` while the role fails."""

    async def connect() -> BackupClient:
        return _available(await members.backup(account), members, account)

    return connect


def _available[C](client: C | None, members: MemberSessions, account: str) -> C:
    if client is None:
        raise AccountUnavailableError(
            f"account {account}: its role {members.role_arn(account)} cannot be assumed "
            "now (see account.role_failed); skipped until it can")
    return client


@dataclass
class InAccount:
    """A component of one member account: named after it, and its logs name it."""

    inner: Component
    account: str
    name: str = ""

    def __post_init__(self) -> None:
        self.name = f"{self.inner.name}:{self.account}"

    async def run(self, stop: asyncio.Event) -> None:
        with structlog.contextvars.bound_contextvars(account=self.account):
            await self.inner.run(stop)
