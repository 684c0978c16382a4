"""Member accounts of an Organization: a cached, auto-refreshed assumed-role session per account.

`organization.role_arn_template` (`arn:aws:iam::{account}:role/ddb-backupd-member`) names the
role the daemon assumes in each member account, with `organization.external_id` when the
role's trust policy requires one. A session is made on first use, through botocore's public
credential resolver: its credentials are `AioRefreshableCredentials`, renewed by a new
AssumeRole before they expire. One session per account, and one client per (account,
service), is kept and counted like the shared ones (`dynamodb`, `backup`, `rds`, `ssm`: what
the capabilities call in a member account).
The daemon's own account (STS GetCallerIdentity, asked once) is served by the shared
clients.

A member account whose role cannot be assumed never blocks the others: its call answers
None (the caller does without), the failure is reported once through `on_change` (metric,
log, `/status`, one alert: see `daemon/events/wire.py`), and it is tried again after
`retry_seconds`. A success after failures is reported too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC
from typing import TYPE_CHECKING, Any, cast

import structlog
from aiobotocore.credentials import AioRefreshableCredentials
from botocore.credentials import CredentialProvider

from daemon.aws.session import AwsClients

if TYPE_CHECKING:
    import aioboto3
    from aiobotocore.client import AioBaseClient
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_dynamodb.client import DynamoDBClient
    from types_aiobotocore_rds.client import RDSClient
    from types_aiobotocore_ssm.client import SSMClient

log = structlog.get_logger(__name__)
Report = Callable[[str, str | None], None]  # (account, error or None when the role works)


class _AssumedRole(CredentialProvider):
    """Credentials of one assumed role, refreshed by AssumeRole before they expire."""

    METHOD = "ddb-backupd-member-role"
    CANONICAL_NAME = "DdbBackupdMemberRole"

    def __init__(self, first: dict[str, str], refresh: Callable[[], Any]) -> None:
        super().__init__()
        self._first = first
        self._refresh = refresh

    async def load(self) -> AioRefreshableCredentials:
        return AioRefreshableCredentials.create_from_metadata(
            metadata=self._first, refresh_using=self._refresh, method=self.METHOD)


class MemberSessions:
    """Clients in member accounts through their assumed roles; see the module docstring."""

    def __init__(self, aws: AwsClients, *, role_arn_template: str, external_id: str | None,
                 session_name: str, on_change: Report, retry_seconds: float = 60.0) -> None:
        self._aws = aws
        self._template = role_arn_template
        self._external_id = external_id
        self._session_name = session_name
        self._on_change = on_change
        self._retry = retry_seconds
        self._sessions: dict[str, aioboto3.Session] = {}
        self._clients: dict[tuple[str, str], AioBaseClient] = {}  # (account, service)
        self._failed: dict[str, float] = {}  # account -> monotonic time of the next try
        self._locks: dict[str, asyncio.Lock] = {}

    def role_arn(self, account: str) -> str:
        return self._template.format(account=account)

    async def home(self) -> str:
        """The daemon's own account (asked of STS once, by the shared clients)."""
        return await self._aws.identity.account()

    async def dynamodb(self, account: str) -> DynamoDBClient | None:
        """DynamoDB in `account` (the shared client for the daemon's own), else None while
        its role cannot be assumed."""
        if account == await self.home():
            return await self._aws.dynamodb()
        return cast("DynamoDBClient | None", await self._client(account, "dynamodb"))

    async def backup(self, account: str) -> BackupClient | None:
        """AWS Backup in `account`, as `dynamodb`."""
        if account == await self.home():
            return await self._aws.backup()
        return cast("BackupClient | None", await self._client(account, "backup"))

    async def rds(self, account: str) -> RDSClient | None:
        """RDS in `account`, as `dynamodb`."""
        if account == await self.home():
            return await self._aws.rds()
        return cast("RDSClient | None", await self._client(account, "rds"))

    async def ssm(self, account: str) -> SSMClient | None:
        """SSM in `account` (a restored copy's parameter), as `dynamodb`."""
        if account == await self.home():
            return await self._aws.ssm()
        return cast("SSMClient | None", await self._client(account, "ssm"))

    async def _client(self, account: str, service: str) -> AioBaseClient | None:
        """The member's client of `service` (made once), None while its role fails."""
        if (account, service) in self._clients:
            return self._clients[account, service]
        if time.monotonic() < self._failed.get(account, 0.0):
            return None
        async with self._locks.setdefault(account, asyncio.Lock()):
            if (account, service) not in self._clients:
                session = self._sessions.get(account) or await self._open(account)
                if session is None:
                    return None
                client: AioBaseClient = await self._aws.hold(session.client(
                    service, config=self._aws.config(),  # type: ignore[call-overload]
                    endpoint_url=self._aws.endpoint_url()))
                self._aws.watch(service, client)
                self._clients[account, service] = client
        return self._clients[account, service]

    async def _open(self, account: str) -> aioboto3.Session | None:
        refresh = self._refresher(account)
        try:
            first = await refresh()
        except Exception as exc:
            self._failed[account] = time.monotonic() + self._retry
            log.warning("account.role_failed", account=account, role_arn=self.role_arn(account),
                        error=str(exc), retry_seconds=self._retry)
            self._on_change(account, str(exc))
            return None
        self._failed.pop(account, None)
        self._on_change(account, None)
        session = self._aws.session_of(_AssumedRole(first, refresh))
        self._sessions[account] = session
        return session

    def _refresher(self, account: str) -> Callable[[], Any]:
        role_arn = self.role_arn(account)

        async def refresh() -> dict[str, str]:
            sts = await self._aws.sts()
            if self._external_id:
                resp = await sts.assume_role(RoleArn=role_arn, RoleSessionName=self._session_name,
                                             ExternalId=self._external_id)
            else:
                resp = await sts.assume_role(RoleArn=role_arn, RoleSessionName=self._session_name)
            creds = resp["Credentials"]
            return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                    "token": creds["SessionToken"],
                    "expiry_time": creds["Expiration"].astimezone(UTC).isoformat()}

        return refresh
