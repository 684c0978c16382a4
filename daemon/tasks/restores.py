"""Restore rotation: completed backups become restored copies, and restarts finish them.

Two ways in. `on_backup` hears every completed backup on the bus (the event pipeline's
COMPLETED jobs, the scheduler's AVAILABLE native backups) and queues a restore per matching
rule; the restore task itself reads AWS first, so a duplicate event ends as `skipped`.
`run_once` (at start, then every `tasks.rescan_seconds`) rediscovers what a restart or a
crash left behind: copies tagged `restoring`, untagged tables a rule made from a backup
just before a crash, AWS Backup restore jobs still running, and completed backups whose
trigger never became a restore (the newest per source, when no copy of it exists).

A backup of a member account's table is restored, validated, published and rotated in that
account, through its role (`accounts.py`); the rescan covers the own account and every
member account a rule lists or a completion came from since the start; the catch-up acts in
each account the rescan read (the completed backups of members are listed with an
Organization's cross-account monitoring: `completed.py`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

import structlog

from daemon.config.tasks import RestoreRule, TaskSettings
from daemon.core import arns
from daemon.core.errors import PermanentError
from daemon.core.tasks.restore_triggers import (
    RestoreDecision,
    RestorePlan,
    adoptable,
    looks_restored,
    missed_restores,
    plan_restores,
    recovery_point_kind,
)
from daemon.core.tasks.rotation import RestoredCopy, newest_done
from daemon.kernel.bus import BackupCompleted
from daemon.obs.metrics_tasks import TaskMetrics
from daemon.tasks.accounts import AccountUnavailable, TaskAccounts
from daemon.tasks.completed import CompletedBackups
from daemon.tasks.restore_aws import RestoreAws
from daemon.tasks.restore_run import RestoreRun
from daemon.tasks.runner import State, Task, TaskRunner
from daemon.tasks.service import rules_for, run_while_leading

log = structlog.get_logger(__name__)


class RestoreService:
    """Turns completed backups and leftovers found in AWS into restore tasks."""

    name = "restores"

    def __init__(self, rules: Iterable[RestoreRule], runner: TaskRunner, accounts: TaskAccounts,
                 completed: CompletedBackups, cfg: TaskSettings, *,
                 metrics: TaskMetrics) -> None:
        self._runner = runner
        self._accounts = accounts
        self._aws: dict[str | None, RestoreAws] = {}  # per account (None: the own)
        self._seen: set[str] = set()  # member accounts completions came from (rescanned)
        self._completed = completed
        self._cfg = cfg
        self._metrics = metrics
        self._rules = {rule.name: rule for rule in rules}
        self._caught: dict[tuple[str, str], datetime] = {}  # (rule, backup) caught up
        # one publish-and-rotate at a time per (rule, account, source table): RestoreRun._finish
        self._publishing: defaultdict[tuple[str, str, str], asyncio.Lock] = \
            defaultdict(asyncio.Lock)

    def aws(self, account: str | None) -> RestoreAws:
        """The restore calls in `account` (None: the daemon's own), made once."""
        if account not in self._aws:
            acc = self._accounts
            self._aws[account] = RestoreAws(
                acc.dynamodb(account), acc.backup(account), acc.ssm(account),
                restore_role_arn=self._cfg.restore_role_arn, account=account, home=acc.home)
        return self._aws[account]

    async def on_backup(self, item: BackupCompleted) -> None:
        """Queue the restores a completed backup triggers (only while this replica leads)."""
        table = arns.table_name(item.resource_arn)
        if table is None or not self._rules or not self._runner.accepting:
            return
        decisions = plan_restores(table, item.recovery_point_arn, item.created,
                                  self._rules_for(item))
        if not decisions:
            return
        place = await self._accounts.place(item.resource_arn, item.recovery_point_arn)
        if place.skipped is not None:
            for decision in decisions:
                log.warning("restore.skipped", rule=decision.rule, table=table,
                            account=place.account, source_backup=item.recovery_point_arn,
                            reason=place.skipped)
            return
        if place.account is not None:
            self._seen.add(place.account)
        for decision in decisions:
            self.consider(decision, account=place.account)

    def _rules_for(self, item: BackupCompleted) -> list[RestoreRule]:
        return rules_for(self._rules.values(), item)

    def consider(self, decision: RestoreDecision, *, account: str | None = None,
                 job_id: str | None = None) -> bool:
        """Queue one decision as a task in `account` (None: the daemon's own); an unnameable
        restore becomes a failed task (alert)."""
        plan = decision.plan
        if plan is None:
            return self._runner.submit(f"invalid:{decision.rule}:{decision.reason}", "restore",
                                       decision.rule, "?", _Fail(decision.reason))
        run = RestoreRun(self._runner, self.aws(account), self._rules[plan.rule], plan,
                         metrics=self._metrics, timeout_seconds=self._cfg.restore_timeout_seconds,
                         job_id=job_id, account=account,
                         publishing=self._publishing[(plan.rule, account or "",
                                                      plan.source_table)])
        at = "" if account is None else f"@{account}"
        return self._runner.submit(plan.target + at, "restore", plan.rule,
                                   plan.source_table + at, run)

    async def run(self, stop: asyncio.Event) -> None:
        """Rescan at start (once the runner accepts tasks), then every rescan interval."""
        await run_while_leading(
            self._runner, stop, self.run_once, rules=self._rules, failed="restore.rescan_failed",
            wait=lambda: self._cfg.rescan_seconds,
            outcome=lambda ok: self._metrics.rescanned("restore", "resume", ok=ok))

    async def run_once(self) -> int:
        """Queue every unfinished restore found in AWS (the own account, then each member
        account rescanned), then those of completed backups that left no copy; returns how
        many were queued."""
        copies: dict[str | None, list[RestoredCopy]] = {}  # per account rescanned in full
        queued = await self._rescan(None, copies)
        for account in await self._member_accounts():
            try:  # one member's failure (its role, a call it may not make) holds up no other
                queued += await self._rescan(account, copies)
            except AccountUnavailable as exc:
                log.warning("restore.rescan_skipped", account=account, reason=str(exc))
            except Exception as exc:
                log.warning("restore.rescan_skipped", account=account,
                            reason=f"{type(exc).__name__}: {exc}")
        self._copy_ages([copy for found in copies.values() for copy in found])
        queued += await self._completed.catch_up("restore", lambda: self._catch_up(copies))
        if queued:
            log.info("restore.rescan", queued=queued)
        return queued

    async def _member_accounts(self) -> list[str]:
        """The member accounts the rescan covers: those the rules list and those completions
        came from (none without roles)."""
        if not self._accounts.roles:
            return []
        listed = {a for rule in self._rules.values() for a in rule.accounts} | self._seen
        home = await self._accounts.home() if listed else None
        return sorted(listed - {home} if home else listed)

    async def _rescan(self, account: str | None,
                      copies: dict[str | None, list[RestoredCopy]]) -> int:
        """Restores left unfinished in one account; its copies go to `copies[account]` once
        all are read."""
        aws, queued, found = self.aws(account), 0, []
        async for name in aws.table_names():
            if not looks_restored(name):
                continue
            copy = await aws.copy(name)
            if copy is None:
                continue
            found.append(copy)
            plan = self._leftover(copy)
            if plan is not None:
                queued += self.consider(RestoreDecision("resume", plan.rule, "rescan", plan),
                                        account=account)
        copies[account] = found
        return queued + await self._open_jobs(account)

    def _leftover(self, copy: RestoredCopy) -> RestorePlan | None:
        """The plan of a copy still `restoring`, or of an untagged table a rule made."""
        if copy.managed and copy.state == "restoring":
            return _plan_from_tags(copy) if copy.rule in self._rules else None
        if copy.managed or copy.restored_from is None:
            return None
        source = arns.table_name(copy.restored_from) or ""
        return adoptable(copy, source, self._rules.values()) if source else None

    async def _open_jobs(self, account: str | None) -> int:
        """AWS Backup restore jobs still running whose target a rule would have named."""
        queued, aws = 0, self.aws(account)
        for job in await aws.open_restore_jobs():
            table = arns.table_name(job.get("SourceResourceArn") or "")
            created = job.get("RecoveryPointCreationDate")
            if table is None or not isinstance(created, datetime):
                continue
            for decision in plan_restores(table, job["RecoveryPointArn"], created,
                                          self._rules.values()):
                if decision.plan is not None and \
                        await aws.describe(decision.plan.target) is None:
                    queued += self.consider(decision, account=account,
                                            job_id=job["RestoreJobId"])
        return queued

    async def _catch_up(self, copies: dict[str | None, list[RestoredCopy]]) -> int:
        """Start the restores of completed backups that left no copy (each once per run), in
        each account whose copies this rescan read (`copies`); a member account not read yet
        is rescanned from the next pass on, and caught up then."""
        recent = await self._completed.recent()
        if not recent:
            return 0
        oldest = min(item.created for item in recent)
        self._caught = {k: t for k, t in self._caught.items() if t >= oldest}
        by_account: defaultdict[str | None, list[BackupCompleted]] = defaultdict(list)
        for item in recent:
            place = await self._accounts.place(item.resource_arn, item.recovery_point_arn)
            table = arns.table_name(item.resource_arn)
            if place.skipped is not None or table is None:
                continue
            if place.account not in copies:
                if place.account is not None and plan_restores(
                        table, item.recovery_point_arn, item.created, self._rules_for(item)):
                    self._seen.add(place.account)
                continue
            by_account[place.account].append(item)
        decisions: list[tuple[str | None, RestoreDecision]] = []
        for account, items in by_account.items():
            for rule in self._rules.values():  # per rule: each covers its own vaults, accounts
                found = [(table, item.recovery_point_arn, item.created) for item in items
                         if rule in self._rules_for(item)
                         and (table := arns.table_name(item.resource_arn)) is not None]
                decisions += [(account, d) for d in missed_restores(found, copies[account],
                                                                    [rule])]
        queued = 0
        for account, decision in decisions:
            plan = decision.plan
            assert plan is not None
            key = (plan.rule, plan.source_backup)
            if key in self._caught or not self.consider(decision, account=account):
                continue
            self._caught[key] = plan.backup_time
            queued += 1
            self._metrics.caught_up("restore")
            log.warning("restore.caught_up", rule=plan.rule, table=plan.source_table,
                        target=plan.target, source_backup=plan.source_backup,
                        account=account, reason=decision.reason)
        return queued

    def _copy_ages(self, copies: list[RestoredCopy]) -> None:
        for name in self._rules:
            latest = newest_done(copies, name)
            if latest is not None and latest.backup_time is not None:
                self._metrics.newest_restored_copy(name, latest.backup_time.timestamp())


def _plan_from_tags(copy: RestoredCopy) -> RestorePlan | None:
    """Rebuild a restore's plan from its tags (all a restarted daemon has)."""
    rule, source, backup, when = copy.rule, copy.source_table, copy.source_backup, \
        copy.backup_time
    if not (rule and source and backup and when):
        return None
    native = recovery_point_kind(backup) == "dynamodb-backup"
    return RestorePlan(rule, source, backup, when, copy.name,
                       "native" if native else "aws-backup")


class _Fail:
    """A task body that fails at once: a restore that cannot even be named (an alert)."""

    def __init__(self, reason: str) -> None:
        self._reason = reason

    async def __call__(self, task: Task) -> State:
        del task
        raise PermanentError(self._reason)
