"""Where a restore or an export acts: the account of the backup's resource.

A completed backup of the daemon's own account is restored and exported with the shared
clients. One of a member account (the central queue carries the whole Organization's
events) is restored and exported *in that account*, through its assumed role
(`Kernel.members`, shared with the other capabilities: one session and one failure report
per account). While that role cannot be assumed, a task's first call there raises
`AccountUnavailable` (a `RetryLater`: the task ends `failed` naming the account, without an
alert of its own, since the sessions alert once, and is queued again after
`organization.role_retry_seconds`); other accounts' tasks go on.

Without `organization.role_arn_template` the daemon can act in its own account only: a
completion of any other account is skipped (`where` answers why), never attempted with the
own account's clients.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from daemon.aws.accounts import MemberSessions
from daemon.aws.session import AwsClients
from daemon.core import arns
from daemon.tasks.runner import RetryLater

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_dynamodb.client import DynamoDBClient
    from types_aiobotocore_rds.client import RDSClient
    from types_aiobotocore_ssm.client import SSMClient

    from daemon.aws.session import Connect



class AccountUnavailable(RetryLater):
    """The role of the member account a task acts in cannot be assumed now."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where a completed backup is acted on: `account` (None: the own one, or unknown), or
    `skipped` with the reason it cannot be."""

    account: str | None
    skipped: str | None = None


class TaskAccounts:
    """The clients of the account a task acts in; see the module docstring."""

    def __init__(self, aws: AwsClients, members: MemberSessions | None, *,
                 retry_seconds: float) -> None:
        self._aws = aws
        self._members = members
        self._retry = retry_seconds

    @property
    def roles(self) -> bool:
        """True when member accounts are reached through roles (a template is set)."""
        return self._members is not None

    @property
    def cached_home(self) -> str | None:
        """The daemon's own account once `home` has been asked, else None."""
        return self._aws.identity.known

    async def home(self) -> str:
        """The daemon's own account (STS GetCallerIdentity, asked once by the shared
        clients)."""
        return await self._aws.identity.account()

    async def place(self, arn: str | None, *fallbacks: str | None) -> Place:
        """Where a backup of the resource `arn` (else the first ARN of `fallbacks` naming an
        account) is acted on: its account, the own one as None."""
        account = next((parsed.account for a in (arn, *fallbacks)
                        if (parsed := arns.parse(a)) is not None and parsed.account), None)
        if account is None:
            return Place(None)
        home = await self.home()
        if account == home:
            return Place(None)
        if self._members is None:
            return Place(account, skipped=f"account {account} is not the daemon's own "
                         f"({home}) and organization.role_arn_template is unset: the daemon "
                         "cannot act there")
        return Place(account)

    def dynamodb(self, account: str | None) -> Connect[DynamoDBClient]:
        """DynamoDB in `account` (None: the daemon's own)."""
        return self._aws.dynamodb if account is None else self._connect(account, "dynamodb")

    def backup(self, account: str | None) -> Connect[BackupClient]:
        return self._aws.backup if account is None else self._connect(account, "backup")

    def ssm(self, account: str | None) -> Connect[SSMClient]:
        return self._aws.ssm if account is None else self._connect(account, "ssm")

    def rds(self, account: str | None) -> Connect[RDSClient]:
        return self._aws.rds if account is None else self._connect(account, "rds")

    def _connect(self, account: str, service: str) -> Callable[[], Awaitable[Any]]:
        members = self._members

        async def connect() -> Any:
            if members is None:  # `place` never names a member account without roles
                raise AccountUnavailable(f"account {account}: organization.role_arn_template "
                                         "is unset", self._retry)
            client = await getattr(members, service)(account)
            if client is None:
                raise AccountUnavailable(
                    f"account {account}: its role {members.role_arn(account)} cannot be "
                    "assumed now (see account.role_failed); tried again in "
                    f"{self._retry:.0f} s", self._retry)
            return client

        return connect
