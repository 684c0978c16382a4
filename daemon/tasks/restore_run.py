"""One restore, start to finish: restore -> tag -> ACTIVE -> checks -> SSM -> rotation.

Every step is safe to run again, because a restarted daemon resumes a restore by running
it from the top: the first step reads what AWS already has under the target name and
`dedupe` says whether to start, resume, adopt or stop. The tags say `restoring` until the
SSM parameter has moved, then `done` (or `failed`, which rotation later cleans up).

Every call goes to the account the restore acts in (`aws` is that account's: a member
account's through its role), the SSM parameter included: the restored copy lives there, and
so, usually, do the readers of the parameter.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import structlog

from daemon.config.tasks import RestoreRule
from daemon.core.errors import PermanentError
from daemon.core.tasks.naming import SUFFIX_LENGTH
from daemon.core.tasks.restore_triggers import RestoreDecision, RestorePlan, dedupe, superseded
from daemon.core.tasks.rotation import (
    TAG_STATE,
    CopyState,
    RestoredCopy,
    copy_tags,
    newest_done,
    select_rotation,
)
from daemon.obs.metrics_tasks import TaskMetrics
from daemon.tasks.restore_aws import RestoreAws
from daemon.tasks.runner import State, Task, TaskRunner

log = structlog.get_logger(__name__)
JOB_FAILED = frozenset({"FAILED", "ABORTED"})


class RestoreRun:
    """The body of one restore task."""

    def __init__(self, runner: TaskRunner, aws: RestoreAws, rule: RestoreRule,
                 plan: RestorePlan, *, metrics: TaskMetrics, timeout_seconds: float,
                 job_id: str | None = None, publishing: asyncio.Lock | None = None,
                 account: str | None = None) -> None:
        self._runner, self._aws = runner, aws
        self._metrics, self._timeout_seconds = metrics, timeout_seconds
        self._rule, self._plan, self._job_id = rule, plan, job_id
        self._where = {} if account is None else {"account": account}
        self._publishing = publishing or asyncio.Lock()
        self._task: Task | None = None
        self._claimed = False

    async def __call__(self, task: Task) -> State:
        self._task = task
        copy = await self._start()
        if copy is None:
            return "skipped"
        try:
            await self._finish(copy)
        except PermanentError:
            await self._tag(copy.arn, "failed")
            raise
        return "succeeded"

    def _phase(self, phase: str, **facts: object) -> None:
        assert self._task is not None
        self._runner.set_phase(self._task, phase, **facts)

    async def _start(self) -> RestoredCopy | None:
        """Start the restore, or pick up the one already there; None when nothing is left."""
        plan = self._plan
        self._phase("starting", target=plan.target, source_backup=plan.source_backup,
                    **self._where)
        decision = await self._decide()
        if decision.action == "skip":
            self._phase("skipped", detail=decision.reason)
            return None
        if decision.action == "conflict":
            raise PermanentError(decision.reason)
        if decision.action == "start":
            await self._restore()
        copy = await self._aws.copy(plan.target)
        if copy is None:
            raise PermanentError(f"table {plan.target} did not appear after the restore started")
        await self._tag(copy.arn, "restoring")
        self._claimed = copy.managed or self._claimed
        return copy

    async def _decide(self) -> RestoreDecision:
        plan = self._plan
        fresh = RestoreDecision("start", plan.rule, "new backup", plan)
        existing = await self._aws.copy(plan.target)
        if existing is not None and not existing.managed and self._job_id:
            job = await self._aws.restore_job(self._job_id)
            if job.get("CreatedResourceArn") == existing.arn:  # our job made it: adopt
                return RestoreDecision("adopt", plan.rule, "made by our restore job", plan)
        decision = dedupe(fresh, existing)
        if decision.action == "start":
            # only a copy named after a newer backup can supersede this one: no other is read
            newer = superseded(plan, [c async for c in self._copies(
                plan.target[:-SUFFIX_LENGTH], after=plan.target[-SUFFIX_LENGTH:])])
            if newer is not None:
                return RestoreDecision("skip", plan.rule, f"copy {newer.name} of a newer backup "
                                       "exists already", plan)
        return decision

    async def _restore(self) -> None:
        if self._plan.engine == "native":
            await self._aws.restore_native(self._plan, self._rule)
            return
        if self._job_id is None:
            self._job_id = await self._aws.start_restore_job(self._plan, self._rule)
        self._phase("restore_job", restore_job_id=self._job_id)
        await self._runner.poll(self._job_done, within=self._timeout(),
                                what=f"restore job {self._job_id}")

    async def _job_done(self) -> bool:
        assert self._job_id is not None
        job = await self._aws.restore_job(self._job_id)
        status = job.get("Status")
        if status in JOB_FAILED:
            raise PermanentError(f"restore job {self._job_id} {status}: "
                                 f"{job.get('StatusMessage') or 'no reason given'}")
        return status == "COMPLETED"

    async def _finish(self, copy: RestoredCopy) -> None:
        plan, rule = self._plan, self._rule
        await self._wait_active()
        if plan.engine == "aws-backup" and rule.table_settings is not None and \
                await self._aws.update_billing(plan.target, rule.table_settings):
            await self._wait_active()
        await self._validate()
        # Restores of one source run in parallel and finish in any order. Checking for a newer
        # finished copy, moving the SSM parameter, tagging `done` and rotating happen as one
        # step per (rule, source table), so the parameter never moves back to an older copy.
        async with self._publishing:
            copies = [c async for c in self._copies(plan.target[:-SUFFIX_LENGTH])]
            newer = superseded(plan, copies)
            if newer is not None:
                log.info("restore.superseded", table=plan.source_table, target=plan.target,
                         newer=newer.name)
            elif rule.ssm_parameter:
                name = ssm_name(rule.ssm_parameter, plan.source_table)
                self._phase("publishing", ssm_parameter=name)
                await self._aws.put_ssm(name, copy.arn)
            await self._tag(copy.arn, "done")
            # the listing, read under the lock, stays true but for this copy's new state
            copies = [replace(c, tags={**c.tags, TAG_STATE: "done"}) if c.name == copy.name
                      else c for c in copies]
            await self._rotate(copy if newer is None else None, copies)

    async def _wait_active(self) -> None:
        self._phase("waiting_active")

        async def active() -> bool:
            table = await self._aws.describe(self._plan.target)
            if table is None:
                raise PermanentError(f"table {self._plan.target} disappeared while restoring")
            summary = table.get("RestoreSummary")
            in_progress = summary is not None and summary.get("RestoreInProgress", False)
            return table.get("TableStatus") == "ACTIVE" and not in_progress

        await self._runner.poll(active, within=self._timeout(),
                                what=f"table {self._plan.target} to become ACTIVE")

    async def _validate(self) -> None:
        checks, target = self._rule.validation, self._plan.target
        if checks is None:
            return
        self._phase("validating")
        if checks.min_items is not None:
            seen = await self._aws.count_at_least(target, checks.min_items)
            if seen < checks.min_items:
                raise PermanentError(f"validation: table {target} holds {seen} items, "
                                     f"fewer than min_items {checks.min_items}")
        if checks.sample_reads:
            table = await self._aws.describe(target) or {}
            keys = [k["AttributeName"] for k in table.get("KeySchema", [])]
            read, found = await self._aws.read_back(target, checks.sample_reads, keys)
            if found < read:
                raise PermanentError(f"validation: {read - found} of {read} items scanned "
                                     f"from {target} could not be read back by key")

    async def _rotate(self, newest: RestoredCopy | None, copies: list[RestoredCopy]) -> None:
        """Delete this rule's copies of the source table (`copies`) beyond keep_last, oldest
        first; `newest` (this run's copy, unless a newer one superseded it) always stays."""
        plan, rule = self._plan, self._rule
        self._phase("rotating")
        protected = {newest.arn, newest.name} if newest is not None else set()
        if rule.ssm_parameter:
            current = await self._aws.ssm_value(ssm_name(rule.ssm_parameter, plan.source_table))
            protected |= {current} if current else set()
        decisions = select_rotation(copies, rule=rule.name, source_table=plan.source_table,
                                    keep_last=rule.keep_last, protected=protected)
        for decision in (d for d in decisions if d.action == "delete"):
            if await self._aws.delete_table(decision.copy.name):
                log.info("restore.copy_deleted", table=decision.copy.name,
                         reasons=decision.reasons)
            else:
                log.info("restore.copy_already_deleted", table=decision.copy.name)
        latest = newest_done(copies, rule.name)
        if latest is not None and latest.backup_time is not None:
            self._metrics.newest_restored_copy(rule.name,
                                                         latest.backup_time.timestamp())

    async def _copies(self, base: str, after: str = "") -> AsyncIterator[RestoredCopy]:
        """Tables named `<base>-YYYYMMDD-HH-mm-ss`, read with their tags; with `after` (a
        suffix), only those whose suffix (the backup's UTC time) sorts after it."""
        async for name in self._aws.table_names():
            if name.startswith(base + "-") and len(name) == len(base) + SUFFIX_LENGTH \
                    and name[len(base):] > after:
                copy = await self._aws.copy(name)
                if copy is not None:
                    yield copy

    async def _tag(self, arn: str, state: CopyState) -> None:
        """All the tags when a copy is first claimed; later only the state changes."""
        plan = self._plan
        tags = copy_tags(plan.rule, plan.source_table, plan.source_backup, plan.backup_time,
                         state)
        await self._aws.tag(arn, {TAG_STATE: state} if self._claimed else tags)
        self._claimed = True

    def _timeout(self) -> float:
        return self._timeout_seconds


def ssm_name(template: str, source_table: str) -> str:
    """The SSM parameter of one source table: `{table}` is replaced with its name."""
    return template.replace("{table}", source_table)
