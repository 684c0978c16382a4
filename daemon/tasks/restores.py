"""Restore rotation: completed backups become restored copies, and restarts finish them.

Two ways in. `on_backup` hears every completed backup on the bus (the event pipeline's
COMPLETED jobs, the scheduler's AVAILABLE native backups) and queues a restore per matching
rule; the restore task itself reads AWS first, so a duplicate event ends as `skipped`.
`run_once` (at start, then every `tasks.rescan_seconds`) rediscovers what a restart or a
crash left behind: copies tagged `restoring`, untagged tables a rule made from a backup
just before a crash, AWS Backup restore jobs still running, and completed backups whose
trigger never became a restore (the newest per source, when no copy of it exists).
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
from daemon.tasks.completed import CompletedBackups
from daemon.tasks.restore_aws import RestoreAws
from daemon.tasks.restore_run import RestoreRun
from daemon.tasks.runner import State, Task, TaskRunner
from daemon.tasks.service import rules_for, run_while_leading

log = structlog.get_logger(__name__)


class RestoreService:
    """Turns completed backups and leftovers found in AWS into restore tasks."""

    name = "restores"

    def __init__(self, rules: Iterable[RestoreRule], runner: TaskRunner, aws: RestoreAws,
                 completed: CompletedBackups, cfg: TaskSettings, *,
                 metrics: TaskMetrics) -> None:
        self._runner = runner
        self._aws = aws
        self._completed = completed
        self._cfg = cfg
        self._metrics = metrics
        self._rules = {rule.name: rule for rule in rules}
        self._caught: dict[tuple[str, str], datetime] = {}  # (rule, backup) caught up
        # one publish-and-rotate at a time per (rule, source table): see RestoreRun._finish
        self._publishing: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    async def on_backup(self, item: BackupCompleted) -> None:
        """Queue the restores a completed backup triggers (only while this replica leads)."""
        table = arns.table_name(item.resource_arn)
        if table is None or not self._rules or not self._runner.accepting:
            return
        for decision in plan_restores(table, item.recovery_point_arn, item.created,
                                      self._rules_for(item)):
            self.consider(decision)

    def _rules_for(self, item: BackupCompleted) -> list[RestoreRule]:
        return rules_for(self._rules.values(), item)

    def consider(self, decision: RestoreDecision, *, job_id: str | None = None) -> bool:
        """Queue one decision as a task; an unnameable restore becomes a failed task (alert)."""
        plan = decision.plan
        if plan is None:
            return self._runner.submit(f"invalid:{decision.rule}:{decision.reason}", "restore",
                                       decision.rule, "?", _Fail(decision.reason))
        run = RestoreRun(self._runner, self._aws, self._rules[plan.rule], plan,
                         metrics=self._metrics, timeout_seconds=self._cfg.restore_timeout_seconds,
                         job_id=job_id,
                         publishing=self._publishing[(plan.rule, plan.source_table)])
        return self._runner.submit(plan.target, "restore", plan.rule, plan.source_table, run)

    async def run(self, stop: asyncio.Event) -> None:
        """Rescan at start (once the runner accepts tasks), then every rescan interval."""
        await run_while_leading(
            self._runner, stop, self.run_once, rules=self._rules, failed="restore.rescan_failed",
            wait=lambda: self._cfg.rescan_seconds,
            outcome=lambda ok: self._metrics.rescanned("restore", "resume", ok=ok))

    async def run_once(self) -> int:
        """Queue every unfinished restore found in AWS, then those of completed backups that
        left no copy; returns how many were queued."""
        queued = 0
        copies: list[RestoredCopy] = []
        async for name in self._aws.table_names():
            if not looks_restored(name):
                continue
            copy = await self._aws.copy(name)
            if copy is None:
                continue
            copies.append(copy)
            plan = self._leftover(copy)
            if plan is not None:
                queued += self.consider(RestoreDecision("resume", plan.rule, "rescan", plan))
        queued += await self._open_jobs()
        self._copy_ages(copies)
        queued += await self._completed.catch_up("restore", lambda: self._catch_up(copies))
        if queued:
            log.info("restore.rescan", queued=queued)
        return queued

    def _leftover(self, copy: RestoredCopy) -> RestorePlan | None:
        """The plan of a copy still `restoring`, or of an untagged table a rule made."""
        if copy.managed and copy.state == "restoring":
            return _plan_from_tags(copy) if copy.rule in self._rules else None
        if copy.managed or copy.restored_from is None:
            return None
        source = arns.table_name(copy.restored_from) or ""
        return adoptable(copy, source, self._rules.values()) if source else None

    async def _open_jobs(self) -> int:
        """AWS Backup restore jobs still running whose target a rule would have named."""
        queued = 0
        for job in await self._aws.open_restore_jobs():
            table = arns.table_name(job.get("SourceResourceArn") or "")
            created = job.get("RecoveryPointCreationDate")
            if table is None or not isinstance(created, datetime):
                continue
            for decision in plan_restores(table, job["RecoveryPointArn"], created,
                                          self._rules.values()):
                if decision.plan is not None and \
                        await self._aws.describe(decision.plan.target) is None:
                    queued += self.consider(decision, job_id=job["RestoreJobId"])
        return queued

    async def _catch_up(self, copies: list[RestoredCopy]) -> int:
        """Start the restores of completed backups that left no copy (each once per run)."""
        recent = await self._completed.recent()
        if not recent:
            return 0
        oldest = min(item.created for item in recent)
        self._caught = {k: t for k, t in self._caught.items() if t >= oldest}
        decisions: list[RestoreDecision] = []
        for rule in self._rules.values():  # per rule: each covers its own vaults, accounts
            found = [(table, item.recovery_point_arn, item.created) for item in recent
                     if rule in self._rules_for(item)
                     and (table := arns.table_name(item.resource_arn)) is not None]
            decisions += missed_restores(found, copies, [rule])
        queued = 0
        for decision in decisions:
            plan = decision.plan
            assert plan is not None
            key = (plan.rule, plan.source_backup)
            if key in self._caught or not self.consider(decision):
                continue
            self._caught[key] = plan.backup_time
            queued += 1
            self._metrics.caught_up("restore")
            log.warning("restore.caught_up", rule=plan.rule, table=plan.source_table,
                        target=plan.target, source_backup=plan.source_backup,
                        reason=decision.reason)
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
