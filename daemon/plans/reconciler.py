"""The plans reconciler: every configured AWS Backup plan compared with AWS, and repaired.

At start (on the leader) and every `reconcile_seconds`: list the plans, read what each
configured plan has in AWS (`plan_aws.py`), let `daemon.core.plans.reconcile.decide` say what
differs and what to do, then do it, in order: create the vault and lock it, create or update
the plan (a new version), replace the daemon's selections that differ, retag the plan with the
configuration's fingerprint. Plans and selections the daemon did not create are never
touched. Each differing field is logged (`plan.field_differs`); drift sets
`backupd_backup_plan_drift{plan}` to 1 until a pass finds the plan as configured, and raises
one SNS alert per episode; `/status` shows every plan's state. With `apply=False` (dry run)
nothing is written: the same verdicts are logged and reported.

A plan listing member accounts is kept in each of them by a reconciler of that account
(`account`, through its role: `wire.py`); its series, `/status` entry and alerts name it
`<plan>@<account>`.

Nothing here is needed after a restart: AWS's tags say which plans are the daemon's, and the
drift episodes kept in memory start again from what the first pass sees.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import structlog

from daemon.core.clock import Clock
from daemon.core.plans.desired import DesiredPlan, PlanLike, desired_plan
from daemon.core.plans.ownership import plan_tags
from daemon.core.plans.reconcile import (
    DriftEpisodes,
    Observed,
    ObservedVault,
    Step,
    Verdict,
    decide,
    drift_alert,
)
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import repeat
from daemon.obs.metrics_plans import PlanMetrics
from daemon.plans.plan_aws import PlanCalls, PlanSummary

log = structlog.get_logger(__name__)
STEP_EVENTS = {"create_vault": "vault.created", "lock_vault": "vault.locked",
               "create_plan": "plan.created", "update_plan": "plan.updated",
               "tag_plan": "plan.tagged", "create_selection": "selection.created",
               "delete_selection": "selection.deleted"}


class PlanReconciler:
    """Keeps every configured backup plan as configured (leader only)."""

    name = "backup-plans"

    def __init__(self, specs: Sequence[PlanLike], *, calls: PlanCalls, metrics: PlanMetrics,
                 board: StatusBoard, alerts: AlertOutbox, clock: Clock,
                 interval_seconds: float, apply: bool = True,
                 account: str | None = None) -> None:
        self.desired = [desired_plan(spec) for spec in specs]
        self.account = account  # a member account's reconciler; None: the own account
        self._calls = calls
        self._metrics = metrics
        self._alerts = alerts
        self._clock = clock
        self._interval = interval_seconds
        self._apply = apply
        self._episodes = DriftEpisodes()
        self._status: dict[str, dict[str, Any]] = {d.name: {"state": "pending"}
                                                   for d in self.desired}
        metrics.register_plans(self.label(d.name) for d in self.desired)
        if account is None:
            board.add("backup_plans", self.status)

    def label(self, plan: str) -> str:
        """The plan as its series, `/status` entry and alerts name it: `<plan>@<account>`
        in a member account."""
        return plan if self.account is None else f"{plan}@{self.account}"

    def status(self) -> dict[str, dict[str, Any]]:
        """Each plan's `/status` entry, by label."""
        return {self.label(name): dict(s) for name, s in self._status.items()}

    async def run(self, stop: asyncio.Event) -> None:
        await repeat(self.run_once, stop, interval=self._interval, failed=self._failed)

    def _failed(self, exc: Exception, attempt: int) -> None:
        self._metrics.reconciled(False, 0.0)
        log.warning("plans.pass_failed", error=str(exc), attempt=attempt)

    async def run_once(self) -> list[Verdict]:
        """One pass over every configured plan; returns the verdicts (before their steps ran).

        A plan whose reads or writes fail is logged and reported; the others go on, and the
        pass counts as failed.
        """
        listed = await self._calls.list_plans()
        vaults: dict[str, ObservedVault | None] = {}
        verdicts, failed = [], 0
        for desired in self.desired:
            try:
                verdicts.append(await self._reconcile(desired, listed.get(desired.name, []),
                                                      vaults))
            except Exception as exc:
                failed += 1
                self._status[desired.name].update(error=str(exc),
                                                  last_checked=self._now_iso())
                log.warning("plan.failed", plan=desired.name, error=str(exc))
        self._metrics.reconciled(not failed, self._clock.now().timestamp())
        return verdicts

    async def preview(self) -> list[Verdict]:
        """What the next pass would do, without doing it, logging it or counting it."""
        listed = await self._calls.list_plans()
        vaults: dict[str, ObservedVault | None] = {}
        return [decide(d, await self._calls.observe(d, listed.get(d.name, []), vaults))
                for d in self.desired]

    async def _reconcile(self, desired: DesiredPlan, listed: list[PlanSummary],
                         vaults: dict[str, ObservedVault | None]) -> Verdict:
        observed = await self._calls.observe(desired, listed, vaults)
        verdict = decide(desired, observed)
        self._report(verdict)
        plan_id = verdict.plan_id
        if self._apply and verdict.steps:
            if any(s.kind in ("create_vault", "lock_vault") for s in verdict.steps):
                vaults.pop(desired.vault.name, None)  # read it again for the next plan
            plan_id = await self._carry_out(desired, verdict, observed)
        self._status[desired.name] = self._status_of(verdict, plan_id)
        log.log(_level(verdict), "plan.reconciled", plan=desired.name, state=verdict.state,
                cause=verdict.cause, plan_id=plan_id,
                differences=len(verdict.differences),
                steps=[f"{s.kind} {s.target}" for s in verdict.steps], applied=self._apply,
                notes=list(verdict.notes))
        return verdict

    def _report(self, verdict: Verdict) -> None:
        """The log line of each differing field, the drift gauge, and one alert an episode."""
        level = "warning" if verdict.drifted else "info"
        for diff in verdict.differences:
            log.log(_LEVELS[level], "plan.field_differs", plan=verdict.plan, field=diff.field,
                    actual=diff.actual, desired=diff.desired, cause=verdict.cause)
        self._metrics.drift(self.label(verdict.plan), verdict.drifted)
        if self._episodes.update(verdict.plan, verdict.drifted):
            self._alerts.submit(drift_alert(replace(verdict, plan=self.label(verdict.plan)),
                                            repairing=self._apply))

    async def _carry_out(self, desired: DesiredPlan, verdict: Verdict,
                         observed: Observed) -> str | None:
        """Run the verdict's steps in order; returns the plan's id (a new one once created)."""
        plan_id = verdict.plan_id
        arn = next((p.arn for p in observed.plans if p.plan_id == plan_id), None)
        selections = {s.name: s for s in desired.selections}
        for step in verdict.steps:
            if step.kind == "create_vault":
                await self._calls.create_vault(desired.vault)
            elif step.kind == "lock_vault":
                await self._calls.lock_vault(desired.vault)
            elif step.kind == "create_plan":
                created = await self._calls.create_plan(desired)
                plan_id, arn = created.plan_id, created.arn
            elif step.kind == "update_plan":
                assert plan_id is not None
                await self._calls.update_plan(plan_id, desired.document)
            elif step.kind == "tag_plan":
                assert arn is not None
                await self._calls.tag_plan(arn, plan_tags(desired.name, desired.fingerprint))
            elif step.kind == "create_selection":
                assert plan_id is not None
                await self._calls.create_selection(plan_id, selections[step.target])
            else:
                assert plan_id is not None
                assert step.selection_id is not None
                await self._calls.delete_selection(plan_id, step.selection_id)
            self._step_done(desired.name, step, plan_id)
        return plan_id

    def _step_done(self, plan: str, step: Step, plan_id: str | None) -> None:
        self._metrics.changed(self.label(plan), step.kind)
        log.info(STEP_EVENTS[step.kind], plan=plan, target=step.target, plan_id=plan_id,
                 selection_id=step.selection_id)
        self._status[plan]["last_change"] = self._now_iso()

    def _status_of(self, verdict: Verdict, plan_id: str | None) -> dict[str, Any]:
        previous = self._status.get(verdict.plan, {})
        return {"state": verdict.state, "cause": verdict.cause, "plan_id": plan_id,
                "drifting": self._episodes.drifting(verdict.plan),
                "differences": [d.field for d in verdict.differences],
                "steps": [f"{s.kind} {s.target}" for s in verdict.steps],
                "applied": self._apply and bool(verdict.steps), "notes": list(verdict.notes),
                "last_checked": self._now_iso(), "last_change": previous.get("last_change"),
                "error": None}

    def _now_iso(self) -> str:
        return self._clock.now().isoformat()


_LEVELS = {"info": 20, "warning": 30}


def _level(verdict: Verdict) -> int:
    if verdict.drifted or verdict.state in ("conflict", "blocked"):
        return _LEVELS["warning"]
    return _LEVELS["info"]
