"""Which restores a completed backup triggers, and whether one already happened (pure).

Events arrive at least once and a restart forgets everything, so "already restored" is
never remembered: it is read from AWS. A rule names its copy deterministically (rule,
source table, backup time), so the same backup always maps to the same table name; what
exists under that name, and its tags, decide between start, resume, skip and conflict.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from daemon.core import arns
from daemon.core.tasks.naming import NamingError, compile_pattern, restore_name
from daemon.core.tasks.rotation import RestoredCopy

RecoveryPointKind = Literal["dynamodb-backup", "aws-backup", "rds-snapshot",
                            "rds-cluster-snapshot", "unknown"]
SUFFIX = re.compile(r"-(\d{8}-\d{2}-\d{2}-\d{2})$")


class RestoreRuleLike(Protocol):
    """What the decisions need of a restore rule (config.tasks.RestoreRule has it)."""

    @property
    def name(self) -> str: ...
    @property
    def source_pattern(self) -> str: ...
    @property
    def replacement(self) -> str: ...


def recovery_point_kind(arn: str) -> RecoveryPointKind:
    """How a recovery point is restored or exported, from its ARN alone."""
    parsed = arns.parse(arn)
    if parsed is None:
        return "unknown"
    service, resource = parsed.service, parsed.resource
    if arns.is_dynamodb_backup(arn):
        return "dynamodb-backup"
    if service == "backup" and resource.startswith("recovery-point:"):
        return "aws-backup"
    if service == "rds" and resource.startswith("snapshot:"):
        return "rds-snapshot"
    if service == "rds" and resource.startswith("cluster-snapshot:"):
        return "rds-cluster-snapshot"
    return "unknown"


@dataclass(frozen=True, slots=True)
class RestorePlan:
    """One restore to run: which backup, by which rule, into which table, how."""

    rule: str
    source_table: str
    source_backup: str
    backup_time: datetime
    target: str
    engine: Literal["native", "aws-backup"]


@dataclass(frozen=True, slots=True)
class RestoreDecision:
    """What to do about one (rule, backup): start, resume, skip, conflict or invalid."""

    action: Literal["start", "resume", "adopt", "skip", "conflict", "invalid"]
    rule: str
    reason: str
    plan: RestorePlan | None = None


def plan_restores(source_table: str, recovery_point_arn: str, created: datetime,
                  rules: Iterable[RestoreRuleLike]) -> list[RestoreDecision]:
    """For every rule whose pattern matches the table: a plan, or why it cannot be named."""
    kind = recovery_point_kind(recovery_point_arn)
    out: list[RestoreDecision] = []
    for rule in rules:
        if compile_pattern(rule.source_pattern).search(source_table) is None:
            continue
        if kind not in ("dynamodb-backup", "aws-backup"):
            out.append(RestoreDecision("invalid", rule.name, f"recovery point "
                                       f"{recovery_point_arn} is not a DynamoDB backup"))
            continue
        try:
            target = restore_name(rule.source_pattern, rule.replacement, source_table, created)
        except NamingError as exc:
            out.append(RestoreDecision("invalid", rule.name, str(exc)))
            continue
        engine: Literal["native", "aws-backup"] = (
            "native" if kind == "dynamodb-backup" else "aws-backup")
        out.append(RestoreDecision("start", rule.name, "new backup", RestorePlan(
            rule.name, source_table, recovery_point_arn, backup_ms(created), target,
            engine)))
    return out


def backup_ms(created: datetime) -> datetime:
    """A backup's time to AWS's precision (milliseconds, UTC).

    Events write `creationDate` in milliseconds, listings may carry more digits: cut to the
    millisecond, every path that names a backup's restore or export agrees on its time.
    """
    created = created.astimezone(UTC)
    return created - timedelta(microseconds=created.microsecond % 1000)


def _second(when: datetime) -> datetime:
    """Restored copies record their backup's time to the second (tag and name)."""
    return when.astimezone(UTC).replace(microsecond=0)


def superseded(plan: RestorePlan, copies: Iterable[RestoredCopy]) -> RestoredCopy | None:
    """A finished copy of the same rule and source made from a newer backup, if any.

    Restoring an older backup after a newer one (a redelivered event, a late catch-up) would
    move the SSM parameter backwards: such a restore is skipped.
    """
    newer = [c for c in copies if c.managed and c.rule == plan.rule and c.state == "done"
             and c.source_table == plan.source_table and c.backup_time is not None
             and c.backup_time > _second(plan.backup_time)]
    return max(newer, key=lambda c: c.backup_time or plan.backup_time, default=None)


def missed_restores(completed: Iterable[tuple[str, str, datetime]],
                    copies: Iterable[RestoredCopy],
                    rules: Iterable[RestoreRuleLike]) -> list[RestoreDecision]:
    """Restores that completed backups should have triggered but left no copy behind.

    `completed` holds (source table, recovery point ARN, creation time) as AWS lists them.
    Per rule and source table only the newest backup counts, and only when no copy of the
    rule (restoring, done or failed) is from a backup that new: an older backup whose copy
    rotation already deleted is never restored again.
    """
    rules = list(rules)
    newest: dict[tuple[str, str], RestorePlan] = {}
    for table, point, created in completed:
        for decision in plan_restores(table, point, created, rules):
            plan = decision.plan
            if plan is None:
                continue
            key = (plan.rule, plan.source_table)
            if key not in newest or plan.backup_time > newest[key].backup_time:
                newest[key] = plan
    copies = list(copies)
    out: list[RestoreDecision] = []
    for (rule, source), plan in sorted(newest.items()):
        covered = any(c.managed and c.rule == rule and c.source_table == source
                      and c.backup_time is not None
                      and c.backup_time >= _second(plan.backup_time) for c in copies)
        if not covered:
            out.append(RestoreDecision("start", rule, "completed backup without a copy "
                                       "(trigger lost or never seen)", plan))
    return out


def dedupe(decision: RestoreDecision, existing: RestoredCopy | None) -> RestoreDecision:
    """Turn a fresh `start` into what AWS says is right, given the table under its name."""
    plan = decision.plan
    if decision.action != "start" or plan is None or existing is None:
        return decision
    if existing.managed and existing.rule == plan.rule and \
            existing.source_backup == plan.source_backup:
        if existing.state == "restoring":
            return RestoreDecision("resume", plan.rule, "restore already in flight", plan)
        return RestoreDecision("skip", plan.rule, f"already restored ({existing.state})", plan)
    if not existing.managed and existing.restored_from == plan.source_backup:
        return RestoreDecision("adopt", plan.rule,
                               "restored from this backup but not tagged yet", plan)
    return RestoreDecision("conflict", plan.rule, f"table {existing.name} already exists and "
                           f"is not rule {plan.rule}'s copy of {plan.source_backup}", plan)


def suffix_time(name: str) -> datetime | None:
    """The backup time a restored table's name ends with, or None if it has no such suffix."""
    found = SUFFIX.search(name)
    if found is None:
        return None
    try:
        return datetime.strptime(found.group(1), "%Y%m%d-%H-%M-%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def looks_restored(name: str) -> bool:
    """Cheap filter before asking AWS for tags: only names with the time suffix can be copies."""
    return suffix_time(name) is not None


def adoptable(copy: RestoredCopy, source_table: str,
              rules: Iterable[RestoreRuleLike]) -> RestorePlan | None:
    """An untagged table some rule made from `copy.restored_from` before a crash, else None.

    It is ours only if a rule, given the source table and the time in the name, names it
    exactly so: a look-alike table of someone else's is left alone.
    """
    backup_time = suffix_time(copy.name)
    if copy.managed or copy.restored_from is None or backup_time is None:
        return None
    for decision in plan_restores(source_table, copy.restored_from, backup_time, rules):
        if decision.plan is not None and decision.plan.target == copy.name:
            return decision.plan
    return None
