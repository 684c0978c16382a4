"""What AWS lists, read as the scheduler's facts: whose backup, which slot, which duplicate (pure).

Ownership is never remembered, always read back: a native backup belongs to schedule S when
its name is `<prefix>-S-<YYYYMMDDHHMM>`; a recovery point when its tags name S; an AWS
Backup job (which lists no tags) when it is an on-demand job with the schedule's role into
the schedule's vault, and its slot is the last slot at or before its creation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from daemon.core.scheduling.planner import parse_backup_name
from daemon.core.scheduling.retention import BackupRecord, Status
from daemon.core.scheduling.schedule import Expression

TAG_SCHEDULE = "backupd:schedule"
TAG_SLOT = "backupd:slot"
CLOCK_SKEW = timedelta(seconds=5)
IN_PROGRESS = frozenset({"CREATING", "CREATED", "PENDING", "RUNNING"})
GONE = frozenset({"DELETED", "DELETING", "EXPIRED"})


@dataclass(frozen=True, slots=True)
class Listed:
    """One backup, recovery point or job as AWS listed it, reduced to what decisions need."""

    table: str
    arn: str
    created: datetime
    status: str
    schedule: str | None = None
    slot: datetime | None = None


def native_owner(prefix: str, schedules: Iterable[str], name: str,
                 ) -> tuple[str, datetime] | None:
    """(schedule, slot) encoded in a native backup's name, if one of ours made it."""
    if not name.startswith(prefix + "-"):
        return None
    for schedule in schedules:
        slot = parse_backup_name(prefix, schedule, name)
        if slot is not None:
            return schedule, slot
    return None


def tagged_owner(tags: Mapping[str, str]) -> tuple[str, datetime | None] | None:
    """(schedule, slot) from a recovery point's tags, if the daemon made it."""
    schedule = tags.get(TAG_SCHEDULE)
    if not schedule:
        return None
    try:
        slot = datetime.fromisoformat(tags[TAG_SLOT]) if TAG_SLOT in tags else None
    except ValueError:
        slot = None
    return schedule, slot


def job_slot(expression: Expression, created: datetime) -> datetime | None:
    """The slot an AWS Backup job was started for: the last slot at or before its creation
    (a little clock skew between us and AWS is forgiven)."""
    return expression.at_or_before(created + CLOCK_SKEW)


def retention_status(aws_status: str) -> Status:
    """AWS's backup / recovery point status as retention's three states."""
    if aws_status in IN_PROGRESS:
        return "CREATING"
    if aws_status in GONE:
        return "DELETED"
    return "AVAILABLE"


def records_for(schedule: str, listed: Iterable[Listed], selected: set[str],
                adopt_existing: bool) -> dict[str, list[BackupRecord]]:
    """Per table, the backups retention of `schedule` decides on.

    Its own backups (any table, even one no longer selected), plus, when adopting, backups
    of its selected tables that no schedule of this daemon made. The slot stands in for the
    creation time of the daemon's own backups: stable, and in the period it was meant for.
    """
    per_table: dict[str, list[BackupRecord]] = defaultdict(list)
    for item in listed:
        if item.schedule == schedule:
            created = item.slot or item.created
            per_table[item.table].append(
                BackupRecord(item.arn, created, retention_status(item.status), True))
        elif item.schedule is None and adopt_existing and item.table in selected:
            per_table[item.table].append(
                BackupRecord(item.arn, item.created, retention_status(item.status), False))
    return dict(per_table)


def duplicates(listed: Iterable[Listed]) -> list[Listed]:
    """Backups beyond the first of one (table, schedule, slot): racing replicas made them.

    The earliest (then the smallest ARN) is the one kept, so every replica that looks picks
    the same survivor and their deletions converge on exactly one backup per slot.
    """
    groups: dict[tuple[str, str | None, datetime | None], list[Listed]] = defaultdict(list)
    for item in listed:
        if item.schedule is not None and retention_status(item.status) != "DELETED":
            groups[(item.table, item.schedule, item.slot)].append(item)
    extra: list[Listed] = []
    for group in groups.values():
        group.sort(key=_keep_order)
        extra.extend(group[1:])
    return extra


def survivor(listed: Iterable[Listed]) -> Listed | None:
    """The backup `duplicates` keeps among those of one (table, schedule, slot)."""
    alive = [item for item in listed if retention_status(item.status) != "DELETED"]
    return min(alive, key=_keep_order, default=None)


def _keep_order(item: Listed) -> tuple[datetime, str]:
    return item.created, item.arn
