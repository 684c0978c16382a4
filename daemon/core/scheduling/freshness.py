"""Freshness and coverage (pure): each table's newest good backup, its age, the tables late for
their schedule, and the tables nothing protects.

In-memory state is lost on restart, on purpose: the newest good backup of every table is read
again from AWS when the daemon starts and when a replica becomes leader (ListBackups,
ListBackupJobs over a lookback window), then moved forward by every completion seen. Listing
only a window means a table without a backup in it is known only to have had none since the
window's start: its age counts from its *baseline*, the later of the window's start and the
table's creation, so a table created a minute ago is not late while one that nothing has
backed up for weeks is (and stays so until it has a good backup).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from daemon.core.scheduling.inventory import Listed, job_slot
from daemon.core.scheduling.schedule import Expression

GOOD_STATES = frozenset({"AVAILABLE", "COMPLETED"})
MAX_LOOKBACK = timedelta(days=35)
LOOKBACK_MARGIN = timedelta(hours=1)
SAMPLE = 20  # late tables named per schedule on /status
GAP_SAMPLE = 50  # tables named per coverage gap on /status


def lookback(intervals: Iterable[float], late_factor: float,
             rpo_seconds: float | None = None) -> timedelta:
    """How far back to list: past every lateness limit and the RPO, plus a margin (so a table
    found in no listing is late for sure), at most 35 days."""
    span = max(late_factor * max(intervals, default=0.0), rpo_seconds or 0.0)
    return min(MAX_LOOKBACK, timedelta(seconds=span) + LOOKBACK_MARGIN)


def newest_good(listed: Iterable[Listed], since: datetime | None = None) -> dict[str, datetime]:
    """Per table, the creation time of its newest good backup (created at or after `since`)."""
    newest: dict[str, datetime] = {}
    for item in listed:
        if item.status not in GOOD_STATES or (since is not None and item.created < since):
            continue
        if item.table not in newest or item.created > newest[item.table]:
            newest[item.table] = item.created
    return newest


def newest_slots(listed: Iterable[Listed]) -> dict[str, datetime]:
    """Per schedule, the newest slot among its own good backups: its last success."""
    slots: dict[str, datetime] = {}
    for item in listed:
        if item.schedule is None or item.slot is None or item.status not in GOOD_STATES:
            continue
        if item.schedule not in slots or item.slot > slots[item.schedule]:
            slots[item.schedule] = item.slot
    return slots


@dataclass(frozen=True, slots=True)
class JobOwner:
    """What makes an on-demand AWS Backup job a schedule's: its role and vault."""

    schedule: str
    role_arn: str | None
    vault: str | None
    expression: Expression


def job_owner(owners: Sequence[JobOwner], *, role_arn: str | None, vault: str | None,
              by_plan: bool, created: datetime) -> tuple[str, datetime | None] | None:
    """(schedule, slot) of a completed job, as the aws-backup engine attributes its jobs."""
    if by_plan:
        return None
    for owner in owners:
        if owner.role_arn == role_arn and owner.vault == vault:
            return owner.schedule, job_slot(owner.expression, created)
    return None


class NewestBackups:
    """Per table, the newest good backup seen. It only moves forward: a late, repeated or
    older report changes nothing. `version` counts the changes (views cache on it)."""

    def __init__(self) -> None:
        self._at: dict[str, datetime] = {}
        self.version = 0

    def record(self, table: str, at: datetime) -> bool:
        """Note a good backup of `table` as of `at`; True when it is the table's newest."""
        known = self._at.get(table)
        if known is not None and known >= at:
            return False
        self._at[table] = at
        self.version += 1
        return True

    def merge(self, found: Mapping[str, datetime]) -> int:
        """Record every (table, time) of a listing; the number of tables that moved."""
        return sum(self.record(table, at) for table, at in found.items())

    def get(self, table: str) -> datetime | None:
        return self._at.get(table)

    def __len__(self) -> int:
        return len(self._at)


@dataclass(frozen=True, slots=True)
class TableAge:
    """One table's freshness at one moment. `since` is what its age counts from: its newest
    good backup, or its baseline when none is known."""

    table: str
    last_backup: datetime | None
    since: datetime
    age_seconds: float
    late: bool


def baseline(horizon: datetime, created: datetime | None) -> datetime:
    """Since when a table without a known backup has had none: the later of the listed
    window's start and its creation."""
    return horizon if created is None or created < horizon else created


def is_late(age_seconds: float, limit_seconds: float) -> bool:
    """Older than the limit (a limit of 0 or less: never late)."""
    return limit_seconds > 0 and age_seconds > limit_seconds


def table_age(table: str, last_backup: datetime | None, created: datetime | None, *,
              horizon: datetime, now: datetime, limit_seconds: float) -> TableAge:
    since = last_backup if last_backup is not None else baseline(horizon, created)
    age = max(0.0, (now - since).total_seconds())
    return TableAge(table, last_backup, since, age, is_late(age, limit_seconds))


@dataclass(frozen=True, slots=True)
class ScheduleFreshness:
    """A schedule's tables at one moment: how many, how many late (past `late_factor` x its
    interval), how many without a known backup, the oldest, and a sample of the late ones."""

    schedule: str
    interval_seconds: float
    tables: int
    late: int
    without_backup: int
    oldest: TableAge | None
    late_tables: tuple[TableAge, ...]


def assess(schedule: str, interval_seconds: float, tables: Iterable[str],
           newest: NewestBackups, created: Mapping[str, datetime | None], *, horizon: datetime,
           now: datetime, late_factor: float, sample: int = SAMPLE,
           ) -> tuple[ScheduleFreshness, list[TableAge]]:
    """The schedule's summary and the age of each of its tables (in `tables` order)."""
    limit = late_factor * interval_seconds
    ages = [table_age(t, newest.get(t), created.get(t), horizon=horizon, now=now,
                      limit_seconds=limit) for t in tables]
    late = sorted((a for a in ages if a.late), key=lambda a: (a.since, a.table))
    oldest = min(ages, key=lambda a: (a.since, a.table), default=None)
    summary = ScheduleFreshness(
        schedule, interval_seconds, len(ages), len(late),
        sum(1 for a in ages if a.last_backup is None), oldest, tuple(late[:sample]))
    return summary, ages


class Selects(Protocol):
    """Anything that selects tables: a schedule's `Selector`, a backup plan selection's
    `PlanSelection`."""

    @property
    def needs_tags(self) -> bool: ...

    def selects(self, name: str, tags: Mapping[str, str] | None = None) -> bool: ...


@dataclass(frozen=True, slots=True)
class TableFacts:
    """What coverage needs of one discovered table. `tags` None: not fetched yet;
    `pitr` None: not checked (or not needed)."""

    name: str
    tags: Mapping[str, str] | None = None
    created: datetime | None = None
    pitr: bool | None = None


def selected_by_any(table: TableFacts, selectors: Iterable[Selects]) -> bool | None:
    """True when some selector takes the table; None when only tags not known yet could."""
    undecided = False
    for selector in selectors:
        if selector.needs_tags and table.tags is None:
            undecided = True
        elif selector.selects(table.name, table.tags):
            return True
    return None if undecided else False


@dataclass(frozen=True, slots=True)
class Coverage:
    """The gaps among the discovered tables (excluded ones left out): no schedule or plan
    selects them; PITR off where a rule needs it; newest backup older than the RPO."""

    tables: int
    unselected: tuple[str, ...]
    pitr_off: tuple[str, ...]
    rpo_breached: tuple[TableAge, ...]
    tags_unknown: int = 0
    pitr_unknown: int = 0

    def counts(self) -> dict[str, int]:
        """Tables per gap, in the order of GAPS."""
        return {"unselected": len(self.unselected), "pitr_off": len(self.pitr_off),
                "rpo_breached": len(self.rpo_breached)}


GAPS = ("unselected", "pitr_off", "rpo_breached")


def excluded(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def coverage(tables: Iterable[TableFacts], selectors: Sequence[Selects], *,
             pitr_needed: Callable[[str], bool], newest: NewestBackups, horizon: datetime,
             now: datetime, rpo_seconds: float | None, exclude: Sequence[str] = (),
             ) -> Coverage:
    """Sort every table into the gaps it falls in; undecidable ones are counted, not guessed."""
    unselected: list[str] = []
    pitr_off: list[str] = []
    breached: list[TableAge] = []
    count = tags_unknown = pitr_unknown = 0
    for table in tables:
        if excluded(table.name, exclude):
            continue
        count += 1
        chosen = selected_by_any(table, selectors)
        if chosen is None:
            tags_unknown += 1
        elif not chosen:
            unselected.append(table.name)
        if pitr_needed(table.name):
            if table.pitr is None:
                pitr_unknown += 1
            elif not table.pitr:
                pitr_off.append(table.name)
        if rpo_seconds:
            age = table_age(table.name, newest.get(table.name), table.created,
                            horizon=horizon, now=now, limit_seconds=rpo_seconds)
            if age.late:
                breached.append(age)
    breached.sort(key=lambda a: (a.since, a.table))
    return Coverage(count, tuple(sorted(unselected)), tuple(sorted(pitr_off)), tuple(breached),
                    tags_unknown, pitr_unknown)


def new_gaps(before: Coverage | None, after: Coverage) -> dict[str, list[str]]:
    """Tables that entered a gap since `before` (all of them when there is no before)."""
    def names(cov: Coverage | None) -> dict[str, set[str]]:
        if cov is None:
            return {gap: set() for gap in GAPS}
        return {"unselected": set(cov.unselected), "pitr_off": set(cov.pitr_off),
                "rpo_breached": {a.table for a in cov.rpo_breached}}

    old, new = names(before), names(after)
    return {gap: sorted(new[gap] - old[gap]) for gap in GAPS if new[gap] - old[gap]}


@dataclass(frozen=True, slots=True)
class FreshnessReport:
    """Every schedule's freshness at `at`, and the age of each of its tables."""

    at: datetime
    schedules: tuple[ScheduleFreshness, ...]
    ages: Mapping[str, Sequence[TableAge]]
