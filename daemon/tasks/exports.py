"""Exports to S3: on completed backups, on a schedule, and resumed after a restart.

Three ways in. `on_backup` hears completed backups on the bus and queues the exports of
every rule that covers the resource. Scheduled rules fire at each slot of their cron()/rate()
expression (the latest slot is caught up once after downtime; markers make a slot export
once across restarts). `rescan` (at start, then every `tasks.rescan_seconds`) resumes the
exports a previous run left open in its markers, and starts those of recently completed
backups that have no marker at all (a trigger lost to a crash or a full queue).

An export runs in the account of the resource it exports (its plan's ARN says which, so a
marker resumed after a restart knows too): a member account's through its role, writing to
the rule's bucket, whose markers the daemon keeps with its own credentials. A scheduled rule
that lists member accounts lists the tables and snapshots of each of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta

import structlog

from daemon.config.tasks import ExportRule, TaskSettings
from daemon.core import arns
from daemon.core.clock import Clock
from daemon.core.scheduling.schedule import next_runs, parse_expression, slot_at_or_before
from daemon.core.tasks.exports import ExportPlan, plan, plans_for_backup
from daemon.core.tasks.naming import compile_pattern
from daemon.kernel.bus import BackupCompleted
from daemon.kernel.supervisor import backoff_delay
from daemon.obs.metrics_tasks import TaskMetrics
from daemon.tasks.accounts import AccountUnavailable, TaskAccounts
from daemon.tasks.completed import CompletedBackups
from daemon.tasks.export_aws import ExportAws
from daemon.tasks.export_markers import MarkerStore
from daemon.tasks.export_run import ExportRun
from daemon.tasks.runner import TaskRunner
from daemon.tasks.service import rules_for, run_while_leading

log = structlog.get_logger(__name__)
RESUME_RETRY_SECONDS = 5.0  # first retry of a failed resume; doubles up to rescan_seconds


class ExportService:
    """Turns completed backups, schedule slots and open markers into export tasks."""

    name = "exports"

    def __init__(self, rules: Iterable[ExportRule], runner: TaskRunner, accounts: TaskAccounts,
                 markers: MarkerStore, completed: CompletedBackups, *, cfg: TaskSettings,
                 metrics: TaskMetrics, clock: Clock) -> None:
        self._runner = runner
        self._accounts = accounts
        self._aws: dict[str | None, ExportAws] = {}  # per account (None: the own)
        self._markers = markers
        self._completed = completed
        self._cfg = cfg
        self._metrics = metrics
        self._clock = clock
        self._known: dict[str, datetime] = {}  # tokens with a marker or queued: no re-check
        self._rules = {rule.name: rule for rule in rules}
        self._slots: dict[str, datetime] = {}  # last slot queued per rule (memory only)
        self._next_rescan: datetime | None = None
        self._rescan_failures = 0

    def aws(self, account: str | None) -> ExportAws:
        """The export calls in `account` (None: the daemon's own), made once."""
        if account not in self._aws:
            acc = self._accounts
            self._aws[account] = ExportAws(acc.dynamodb(account), acc.rds(account),
                                           acc.backup(account), account=account, home=acc.home)
        return self._aws[account]

    def _account_of(self, found: ExportPlan) -> str | None:
        """The account an export acts in: its resource's when member accounts are reached
        through roles (the own one's calls go to the shared clients), else the own (None)."""
        parsed = arns.parse(found.resource_arn) if self._accounts.roles else None
        return parsed.account if parsed is not None and parsed.account else None

    async def on_backup(self, item: BackupCompleted) -> None:
        """Queue the exports a completed backup triggers (only while this replica leads)."""
        if not self._rules or not self._runner.accepting:
            return
        plans = plans_for_backup(item.resource_arn, item.recovery_point_arn, item.created,
                                 item.vault, self._rules_for(item), job_id=item.job_id)
        if not plans:
            return
        place = await self._accounts.place(item.resource_arn, item.recovery_point_arn)
        if place.skipped is not None:
            for found in plans:
                log.warning("export.skipped", rule=found.rule, name=found.name,
                            account=place.account, source=found.source, reason=place.skipped)
            return
        for found in plans:
            self.consider(found)

    def _rules_for(self, item: BackupCompleted) -> list[ExportRule]:
        return rules_for(self._rules.values(), item)

    def consider(self, found: ExportPlan) -> bool:
        account = self._account_of(found)
        run = ExportRun(self._runner, self.aws(account), self._markers,
                        rule=self._rules[found.rule], plan=found,
                        timeout_seconds=self._cfg.export_timeout_seconds)
        member = account is not None and account != self._accounts.cached_home
        subject = f"{found.name}@{account}" if member else found.name
        return self._runner.submit(found.token, "export", found.rule, subject, run)

    async def run(self, stop: asyncio.Event) -> None:
        """Rescan and fire due slots whenever something is due, until stopped."""
        await run_while_leading(
            self._runner, stop, self.run_once, rules=self._rules, failed="export.pass_failed",
            wait=lambda: max(1.0, (self._next_wake() - self._clock.now()).total_seconds()))

    async def run_once(self) -> int:
        """One pass: resume open exports if a rescan is due, queue due slots; how many queued."""
        now = self._clock.now()
        queued = 0
        if self._next_rescan is None or now >= self._next_rescan:
            queued += await self.rescan(now)
        return queued + await self.run_due(now)

    async def rescan(self, now: datetime) -> int:
        """Queue every export a previous run left open (its marker says where it was), then
        those of recently completed backups without a marker. Each step fails on its own
        (logged, counted): a failed resume is retried with backoff, never every pass, and
        neither holds up the scheduled slots."""
        interval = self._cfg.rescan_seconds
        queued = 0
        try:
            for rule in self._rules.values():
                for marker in await self._markers.open_markers(rule):
                    queued += self.consider(marker.plan)
                    self._known[marker.plan.token] = marker.plan.at
        except Exception:
            log.exception("export.rescan_failed")
            self._metrics.rescanned("export", "resume", ok=False)
            self._rescan_failures += 1
            retry = max(RESUME_RETRY_SECONDS,
                        backoff_delay(self._rescan_failures, base=RESUME_RETRY_SECONDS,
                                      cap=interval))
            self._next_rescan = now + timedelta(seconds=retry)
        else:
            self._metrics.rescanned("export", "resume", ok=True)
            self._rescan_failures = 0
            self._next_rescan = now + timedelta(seconds=interval)
        queued += await self._completed.catch_up("export", self._catch_up)
        if queued:
            log.info("export.rescan", queued=queued)
        return queued

    async def _catch_up(self) -> int:
        """Queue the exports of recently completed backups that never got a marker."""
        recent = await self._completed.recent()
        if not recent:
            return 0
        oldest = min(item.created for item in recent)
        self._known = {k: t for k, t in self._known.items() if t >= oldest}
        queued = 0
        for item in recent:
            if (await self._accounts.place(item.resource_arn,
                                           item.recovery_point_arn)).skipped is not None:
                continue
            for found in plans_for_backup(item.resource_arn, item.recovery_point_arn,
                                          item.created, item.vault, self._rules_for(item),
                                          job_id=item.job_id):
                if found.token in self._known:
                    continue
                if await self._markers.get(self._rules[found.rule], found.token) is not None:
                    self._known[found.token] = found.at
                    continue
                if self.consider(found):
                    self._known[found.token] = found.at
                    queued += 1
                    self._metrics.caught_up("export")
                    log.warning("export.caught_up", rule=found.rule, table=found.name,
                                source=found.source, token=found.token)
        return queued

    async def run_due(self, now: datetime) -> int:
        """Queue the exports of every scheduled rule whose current slot was not queued yet."""
        queued = 0
        for rule in self._rules.values():
            if rule.schedule is None:
                continue
            slot = slot_at_or_before(parse_expression(rule.schedule, rule.timezone), now)
            if slot is None or self._slots.get(rule.name) == slot:
                continue
            self._slots[rule.name] = slot
            plans = await self._slot_plans(rule, slot)
            queued += sum(self.consider(p) for p in plans)
            log.info("export.slot", rule=rule.name, slot=slot, exports=len(plans))
        return queued

    async def _slot_plans(self, rule: ExportRule, slot: datetime) -> list[ExportPlan]:
        """Tables to export at `slot` (dynamodb), or the newest snapshot of each DB (rds), in
        the own account or, with roles, in each account the rule lists (one whose role
        fails is skipped, logged: the others go on)."""
        pattern = compile_pattern(rule.source_pattern)

        def matches(name: str) -> bool:
            return pattern.search(name) is not None

        found: list[ExportPlan | None] = []
        places: list[str | None] = list(rule.accounts) if self._accounts.roles and \
            rule.accounts else [None]
        for account in places:
            aws = self.aws(account)
            try:
                if rule.kind == "dynamodb":
                    found += [plan(rule, arn, None, slot, trigger="schedule")
                              for arn in await aws.table_arns(matches)]
                else:
                    found += [plan(rule, db, snapshot, when, trigger="schedule")
                              for db, snapshot, when in await aws.newest_snapshots(matches)]
            except AccountUnavailable as exc:
                log.warning("export.slot_skipped", rule=rule.name, account=account,
                            reason=str(exc))
            except Exception as exc:
                if account is None:
                    raise
                log.warning("export.slot_skipped", rule=rule.name, account=account,
                            reason=f"{type(exc).__name__}: {exc}")
        return [p for p in found if p is not None]

    def _next_wake(self) -> datetime:
        """The next slot of any scheduled rule, or the next rescan, whichever comes first."""
        now = self._clock.now()
        wake = self._next_rescan or now
        for rule in self._rules.values():
            if rule.schedule is not None:
                runs = next_runs(parse_expression(rule.schedule, rule.timezone), now, 1)
                if runs:
                    wake = min(wake, runs[0])
        return wake
