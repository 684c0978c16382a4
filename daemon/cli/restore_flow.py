"""The steps of `ddb-backupd restore`: find the backup, name the target, restore, wait, publish.

Split from restore.py so `restore --help` and the option checks never import aioboto3. The
calls are the daemon's (`RestoreAws`, `RestoreSources`); only the order and the exit codes
are this command's. Running it again with the same source resumes: a target table restored
from the same backup is waited on, not refused.

Where: the daemon's own account, or a member account (`--account`, or the account a
`--recovery-point` ARN names) through its assumed role, with the clients the daemon's
restores use there (`TaskAccounts`): the backup is found, restored, waited on and its SSM
parameter written in that account. A member whose role cannot be assumed ends the command
with exit 4 and AWS's reason.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from daemon.aws.accounts import MemberSessions
from daemon.aws.errors import error_code
from daemon.aws.session import AwsClients
from daemon.cli.restore import fail
from daemon.config.settings import Settings
from daemon.config.tasks import RestoreRule
from daemon.core import arns
from daemon.core.errors import PermanentError
from daemon.core.tasks.on_demand import Source, Target, choose_target, newest_usable
from daemon.core.tasks.restore_triggers import RestorePlan, recovery_point_kind
from daemon.obs.metrics import Metrics
from daemon.tasks.accounts import AccountUnavailable, TaskAccounts
from daemon.tasks.restore_aws import RestoreAws
from daemon.tasks.restore_run import JOB_FAILED, ssm_name
from daemon.tasks.restore_sources import NOT_FOUND, RestoreSources

# The rule of a restore no configured rule names: no overrides, the configured role.
ON_DEMAND = RestoreRule(name="on-demand", source_pattern="^$", replacement="")


class Emit(Protocol):
    def __call__(self, phase: str, /, **facts: Any) -> None: ...


async def restore(settings: Settings, args: argparse.Namespace, emit: Emit) -> None:
    """The whole command; raises `Exit` with the code of any outcome but success."""
    async with AwsClients(settings.aws, settings.region, Metrics()) as clients:
        refused: dict[str, str] = {}  # account -> why its role could not be assumed
        try:
            await _restore(settings, clients, args, emit, refused)
        except AccountUnavailable as exc:
            account = next(iter(refused), "")
            fail(4, f"{exc}: {refused[account]}" if account else str(exc))
        except ClientError as exc:
            code = 3 if error_code(exc) in NOT_FOUND else 4
            fail(code, f"{error_code(exc)}: {exc}")
        except BotoCoreError as exc:
            fail(1, str(exc))
        except PermanentError as exc:
            fail(2, str(exc))


async def _restore(settings: Settings, clients: AwsClients, args: argparse.Namespace,
                   emit: Emit, refused: dict[str, str]) -> None:
    accounts = TaskAccounts(clients, _members(settings, clients, refused),
                            retry_seconds=settings.organization.role_retry_seconds)
    account = await _account(accounts, args)
    sources = RestoreSources(accounts.dynamodb(account), accounts.backup(account),
                             settings.region)
    source = await _find(sources, args)
    emit("found", source=source.arn, table=source.table, created=source.created,
         engine=source.engine, vault=source.vault,
         **({"account": account} if account is not None else {}))
    target = choose_target(source, settings.restores, args.target)
    emit("target", target=target.name, naming=target.naming)
    rule = next((r for r in settings.restores if target.naming == f"rule {r.name}"), ON_DEMAND)
    aws = RestoreAws(accounts.dynamodb(account), accounts.backup(account), accounts.ssm(account),
                     restore_role_arn=settings.tasks.restore_role_arn, account=account,
                     home=accounts.home)
    assert source.engine is not None  # _find only returns restorable sources
    plan = RestorePlan(rule.name, source.table, source.arn, source.created, target.name,
                       source.engine)
    job_id = await _start(aws, plan, rule, emit)
    if not (args.wait or args.ssm_parameter):
        emit("started", target=target.name, restore_job_id=job_id)
        return
    timeout = args.timeout or settings.tasks.restore_timeout_seconds
    poll = Poller(settings.tasks.poll_initial_seconds, settings.tasks.poll_max_seconds, timeout)
    if job_id is not None:
        await poll.until(lambda: _job_done(aws, job_id), f"restore job {job_id}")
    arn = await _wait_active(aws, target, poll, emit)
    if args.ssm_parameter:
        name = ssm_name(args.ssm_parameter, source.table)
        await aws.put_ssm(name, arn)
        emit("ssm", parameter=name, value=arn)
    emit("done", target=target.name, table_arn=arn, seconds=round(poll.elapsed(), 3))


def _members(settings: Settings, clients: AwsClients,
             refused: dict[str, str]) -> MemberSessions | None:
    """Member accounts' sessions when a role template is configured; a role refused is
    recorded in `refused` (the command's exit names it)."""
    org = settings.organization
    if org.role_arn_template is None:
        return None

    def report(account: str, error: str | None) -> None:
        if error is not None:
            refused[account] = error

    return MemberSessions(
        clients, role_arn_template=org.role_arn_template,
        external_id=org.external_id.get_secret_value() if org.external_id else None,
        session_name=settings.aws.role_session_name, on_change=report, retry_seconds=1.0)


async def _account(accounts: TaskAccounts, args: argparse.Namespace) -> str | None:
    """The member account to restore in (None: the daemon's own): --account, else the one a
    --recovery-point ARN names when member roles are configured; refused (exit 2) when they
    differ, or when --account is not the own account and no role template is set."""
    parsed = arns.parse(args.recovery_point) if args.recovery_point else None
    named = parsed.account if parsed is not None and parsed.account else None
    if args.account is not None and named is not None and named != args.account:
        fail(2, f"--recovery-point {args.recovery_point} is in account {named}, not in "
             f"--account {args.account}")
    wanted = args.account or (named if accounts.roles else None)
    if wanted is None:  # the own account: asked of no one (no STS call)
        return None
    place = await accounts.place(f"arn:aws:iam::{wanted}:root")
    if place.skipped is not None:
        fail(2, place.skipped)
    return place.account


async def _find(sources: RestoreSources, args: argparse.Namespace) -> Source:
    if args.table is not None:
        found = newest_usable(await sources.of_table(args.table))
        if found is None:
            fail(3, f"no AVAILABLE backup or COMPLETED recovery point of table {args.table}")
        return found
    arn = args.recovery_point
    kind = recovery_point_kind(arn)
    if kind not in {"dynamodb-backup", "aws-backup"}:
        fail(2, f"--recovery-point {arn!r} is not a DynamoDB backup or AWS Backup recovery "
             "point ARN")
    found = await (sources.native(arn) if kind == "dynamodb-backup"
                   else sources.recovery_point(arn))
    if found is None:
        fail(3, f"recovery point {arn} not found")
    if newest_usable([found]) is None:
        fail(4, f"recovery point {arn} is {found.status}, not usable for a restore")
    return found


async def _start(aws: RestoreAws, plan: RestorePlan, rule: RestoreRule,
                 emit: Emit) -> str | None:
    """Start the restore, or pick up one already made from this backup; the job id, if any."""
    existing = await aws.describe(plan.target)
    if existing is not None:
        summary = existing.get("RestoreSummary")
        made_from = summary.get("SourceBackupArn") if summary else None
        if made_from != plan.source_backup:
            fail(4, f"table {plan.target} exists already (not restored from "
                 f"{plan.source_backup}): choose another --target")
        emit("restoring", target=plan.target, resumed=True)
        return None
    if plan.engine == "native":
        await aws.restore_native(plan, rule)
        emit("restoring", target=plan.target, resumed=False)
        return None
    job_id = await aws.start_restore_job(plan, rule)
    emit("restore_job", restore_job_id=job_id, target=plan.target)
    return job_id


async def _job_done(aws: RestoreAws, job_id: str) -> bool:
    job = await aws.restore_job(job_id)
    status = job.get("Status")
    if status in JOB_FAILED:
        fail(4, f"restore job {job_id} {status}: {job.get('StatusMessage') or 'no reason'}")
    return status == "COMPLETED"


async def _wait_active(aws: RestoreAws, target: Target, poll: Poller, emit: Emit) -> str:
    """Poll DescribeTable until ACTIVE with no restore in progress; the table's ARN."""
    seen: dict[str, Any] = {}

    async def active() -> bool:
        table = await aws.describe(target.name)
        if table is None:
            fail(4, f"table {target.name} disappeared while restoring")
        seen.update(table)
        summary = table.get("RestoreSummary")
        in_progress = summary.get("RestoreInProgress", False) if summary else False
        return table.get("TableStatus") == "ACTIVE" and not in_progress

    emit("waiting_active", target=target.name)
    await poll.until(active, f"table {target.name} to become ACTIVE")
    emit("active", target=target.name, table_arn=seen["TableArn"])
    return str(seen["TableArn"])


class Poller:
    """Growing waits between checks, one deadline for the whole command (exit 5 past it)."""

    def __init__(self, first: float, ceiling: float, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        self._first, self._ceiling = first, ceiling
        self._started = loop.time()
        self._deadline = self._started + timeout

    def elapsed(self) -> float:
        return asyncio.get_running_loop().time() - self._started

    async def until(self, check: Callable[[], Awaitable[bool]], what: str) -> None:
        wait = self._first
        while not await check():
            left = self._deadline - asyncio.get_running_loop().time()
            if left <= 0:
                fail(5, f"timed out waiting for {what}")
            await asyncio.sleep(min(wait, left))
            wait = min(wait * 2, self._ceiling)
