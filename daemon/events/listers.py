"""Where a reconcile pass lists backup jobs: one `Lister` per account, built one of three ways.

A lister is an AWS Backup client and, when that client lists another account's jobs (AWS
Backup cross-account monitoring, from the Organization's management or delegated
administrator account), the `ByAccountId` it passes; without one, `ListBackupJobs` and
`DescribeBackupJob` answer for the caller's own account, whichever that is.

- `OwnAccount` (the default): the daemon's own account through the shared client.
- `Organization` (`organization.enabled`): the shared client, `ByAccountId` for each account
  of `accounts:`, or `*` for every member account.
- `MemberRoles` (`organization.role_arn_template` and `accounts:`, no Organization): each
  account through its own client, the shared one for the daemon's own account and an
  assumed-role one for a member. A member whose role cannot be assumed is left out of the
  pass (`Listing.skipped`); the sessions report the failure (metric, log, `/status`, alert).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from daemon.core.events.job_state import TrackedJob

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_backup.type_defs import (
        BackupJobTypeDef,
        DescribeBackupJobOutputTypeDef,
        ListBackupJobsInputPaginateTypeDef,
    )

    from daemon.aws.session import Connect

Mode = Literal["own", "organization", "member_roles"]
STARTED_SLACK = timedelta(minutes=5)  # a job's creation may precede its first event's time


@dataclass(frozen=True, slots=True)
class Lister:
    """One account's jobs: `backup` lists them, passing `by_account` as `ByAccountId` when
    it lists another account's (None: the caller's own). `account` is the account listed:
    an id, `*` for every member account, or None for the caller's while AWS has not named it.
    """

    backup: BackupClient
    account: str | None
    by_account: str | None = None

    async def jobs(self, query: ListBackupJobsInputPaginateTypeDef) -> list[BackupJobTypeDef]:
        """Every job `query` selects, through all pages."""
        if self.by_account is not None:
            query = query.copy()
            query["ByAccountId"] = self.by_account
        pages = self.backup.get_paginator("list_backup_jobs").paginate(**query)
        return [job async for page in pages for job in page.get("BackupJobs", [])]

    async def find(self, job: TrackedJob,
                   ) -> BackupJobTypeDef | DescribeBackupJobOutputTypeDef | None:
        """A job the open listing no longer shows, as AWS knows it now (None: unknown).

        The caller's own job by `DescribeBackupJob`; another account's (cross-account
        monitoring has no describe) by a listing of its account and resource since it began.
        """
        if self.by_account is None:
            try:
                return await self.backup.describe_backup_job(BackupJobId=job.job_id)
            except self.backup.exceptions.ResourceNotFoundException:
                return None
        query: ListBackupJobsInputPaginateTypeDef = {
            "ByCreatedAfter": job.started - STARTED_SLACK}
        if job.resource_arn:
            query["ByResourceArn"] = job.resource_arn
        return next((j for j in await self.jobs(query) if j["BackupJobId"] == job.job_id),
                    None)

    def of(self, account: str | None) -> Lister | None:
        """The lister for a job of `account` (None: unknown), when this one covers it."""
        if self.account == "*" and account is not None and account.isdigit():
            return replace(self, account=account, by_account=account)  # narrowed to the job's
        if self.account in (None, "*", account):
            return self
        return None


@dataclass(frozen=True, slots=True)
class Listing:
    """The listers of one pass, and the accounts left out of it with the reason."""

    listers: list[Lister]
    skipped: dict[str, str] = field(default_factory=dict)


class JobSources(Protocol):
    """How each pass's listers are built (see the module docstring)."""

    @property
    def mode(self) -> Mode: ...

    @property
    def accounts(self) -> list[str] | None:
        """The accounts configured (None: the caller's own)."""

    async def listing(self) -> Listing: ...


class Members(Protocol):
    """AWS Backup in an account through its role (`daemon.aws.accounts.MemberSessions`)."""

    def role_arn(self, account: str) -> str: ...

    async def backup(self, account: str) -> BackupClient | None: ...


class OwnAccount:
    """The caller's own account, through the shared client."""

    mode: Mode = "own"
    accounts = None

    def __init__(self, backup: Connect[BackupClient]) -> None:
        self._backup = backup

    async def listing(self) -> Listing:
        return Listing([Lister(await self._backup(), None)])


class Organization:
    """Cross-account monitoring: the shared client, `ByAccountId` per account (or `*`)."""

    mode: Mode = "organization"

    def __init__(self, backup: Connect[BackupClient], accounts: Sequence[str]) -> None:
        self._backup = backup
        self.accounts = list(accounts)

    async def listing(self) -> Listing:
        client = await self._backup()
        return Listing([Lister(client, account, by_account=account) for account in self.accounts])


class MemberRoles:
    """Each account through its own client: the shared one for the daemon's own account,
    its assumed role's for a member; a member whose role fails is skipped."""

    mode: Mode = "member_roles"

    def __init__(self, members: Members, accounts: Sequence[str]) -> None:
        self._members = members
        self.accounts = list(accounts)

    async def listing(self) -> Listing:
        clients = await asyncio.gather(*(self._members.backup(a) for a in self.accounts))
        listing = Listing([])
        for account, client in zip(self.accounts, clients, strict=True):
            if client is None:
                listing.skipped[account] = (f"its role {self._members.role_arn(account)} "
                                            "cannot be assumed (see member_accounts)")
            else:
                listing.listers.append(Lister(client, account))
        return listing
