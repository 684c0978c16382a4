"""Wiring of the plans capability: the reconcilers of the configured AWS Backup plans.

`app.py` wires it only when `backup_plans` is configured; it runs on the leader only (two
replicas must not both repair a plan). Plans without `accounts` are kept in the daemon's
own account; a plan listing `accounts` is kept in each of them instead, by one reconciler
per member account whose every AWS Backup call goes through that account's role
(`daemon/kernel/member_clients.py`): a member whose role fails is skipped that pass, the
others go on. `/status` lists a member's plans as `<plan>@<account>`.
"""

from __future__ import annotations

from typing import Any

from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.kernel.kernel import Kernel, Wired
from daemon.kernel.member_clients import InAccount, member_backup
from daemon.kernel.supervisor import Component
from daemon.plans.plan_aws import PlanCalls
from daemon.plans.reconciler import PlanReconciler


def wire(settings: Settings, aws: AwsClients, kernel: Kernel) -> Wired:
    reconcilers = reconcilers_of(settings, aws, kernel, apply=not settings.dry_run)
    leader: list[Component] = [r if r.account is None else InAccount(r, r.account)
                               for r in reconcilers]
    return Wired(leader=tuple(leader))


def reconcilers_of(settings: Settings, aws: AwsClients, kernel: Kernel, *,
                   apply: bool) -> list[PlanReconciler]:
    """The own account's reconciler (plans without accounts), then one per member account
    (the plans listing it, '{account}' made the member's); one `backup_plans` section."""
    common: dict[str, Any] = {
        "metrics": kernel.metrics.plans, "board": kernel.board, "alerts": kernel.alerts,
        "clock": kernel.clock, "interval_seconds": settings.reconcile_seconds, "apply": apply}
    own = [p for p in settings.backup_plans if not p.accounts]
    out = [PlanReconciler(own, calls=PlanCalls(aws.backup), **common)] if own else []
    accounts = sorted({a for p in settings.backup_plans for a in p.accounts})
    if accounts and kernel.members is None:  # settings validation requires the template
        raise ValueError("backup_plans list accounts: organization.role_arn_template is "
                         "required")
    for account in accounts:
        assert kernel.members is not None
        specs = [p.for_account(account) for p in settings.backup_plans if account in p.accounts]
        out.append(PlanReconciler(specs, calls=PlanCalls(member_backup(kernel.members, account)),
                                  account=account, **common))
    if accounts:
        kernel.board.add("backup_plans", lambda: {
            label: entry for r in out for label, entry in r.status().items()})
    return out
