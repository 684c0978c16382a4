"""Retention: which backups of one table to keep and which to delete, and why (pure).

Rules follow restic's `forget`: `keep_last` N newest; `keep_days` D: everything created in
the D days before `now`; `keep_hourly` … `keep_yearly` N: for the last N periods that have
backups, the newest backup of each period (weeks are ISO weeks; periods are read in the
schedule's time zone). A backup is kept if any rule keeps it.

Floors no policy can override: a backup this daemon did not create is kept (unless the
policy adopts existing backups), one still CREATING is kept, the newest AVAILABLE backup is
kept, and no run deletes more than `max_deletes` (the oldest go first; the rest wait for
the next run). Rules only count AVAILABLE backups the daemon owns, so planning again after
the deletions deletes nothing more.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["AVAILABLE", "CREATING", "DELETED"]
Action = Literal["keep", "delete"]
PERIOD_RULES = ("keep_hourly", "keep_daily", "keep_weekly", "keep_monthly", "keep_yearly")
REASON_ORDER = ("keep_last", "keep_days", *PERIOD_RULES, "floor:newest", "floor:in-progress",
                "floor:not-owned", "floor:max-deletes", "no-policy", "already-deleted", "expired")

REASON_RANK = {reason: rank for rank, reason in enumerate(REASON_ORDER)}


def _hour(t: datetime) -> datetime:
    return t.replace(minute=0, second=0, microsecond=0, fold=0)


def _day(t: datetime) -> datetime:
    return t.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)


# Where the local period holding `t` starts (fold=0: the first of a repeated wall time).
PeriodStart = Callable[[datetime], datetime]
PERIOD_STARTS: dict[str, PeriodStart] = {
    "keep_hourly": _hour,
    "keep_daily": _day,
    "keep_weekly": lambda t: _day(t) - timedelta(days=t.weekday()),  # ISO weeks start Monday
    "keep_monthly": lambda t: _day(t).replace(day=1),
    "keep_yearly": lambda t: _day(t).replace(month=1, day=1),
}


class RetentionPolicy(BaseModel):
    """Retention rules of one schedule. No rule at all keeps everything."""

    model_config = ConfigDict(extra="forbid")

    keep_days: int | None = Field(None, ge=1, description="Keep backups younger than N days "
                                  "(aws-backup engine: the job's Lifecycle.DeleteAfterDays).")
    keep_last: int | None = Field(None, ge=1, description="Keep the N newest backups.")
    keep_hourly: int | None = Field(None, ge=1, description="Newest of each of the last N hours.")
    keep_daily: int | None = Field(None, ge=1, description="Newest of each of the last N days.")
    keep_weekly: int | None = Field(None, ge=1, description="Newest of each of the last N ISO weeks.")
    keep_monthly: int | None = Field(None, ge=1, description="Newest of each of the last N months.")
    keep_yearly: int | None = Field(None, ge=1, description="Newest of each of the last N years.")
    adopt_existing: bool = Field(False, description="Also prune backups of the selected tables "
                                 "that this daemon did not create (off: they are never touched).")

    def has_rules(self) -> bool:
        return any(getattr(self, name) is not None
                   for name in ("keep_days", "keep_last", *PERIOD_RULES))

    def only_keep_days(self) -> bool:
        """True when keep_days is the sole rule (then AWS Backup's lifecycle can do it all)."""
        return self.keep_days is not None and all(
            getattr(self, name) is None for name in ("keep_last", *PERIOD_RULES))


@dataclass(frozen=True, slots=True)
class BackupRecord:
    """One backup as retention sees it. `created` is aware; `owned`: made by this daemon."""

    arn: str
    created: datetime
    status: Status
    owned: bool


class Decision(NamedTuple):
    """Keep or delete one backup, with every reason that led there."""

    arn: str
    action: Action
    reasons: tuple[str, ...]
    created: datetime


def select(backups: Iterable[BackupRecord], policy: RetentionPolicy, now: datetime,
           zone: tzinfo = UTC, max_deletes: int | None = None) -> list[Decision]:
    """Decide every backup of one table; the result is newest first."""
    ordered = sorted(backups, key=lambda b: (b.created, b.arn), reverse=True)
    reasons: dict[str, list[str]] = {b.arn: [] for b in ordered}
    candidates = [b for b in ordered if _floor(b, policy, reasons[b.arn]) is None]
    if candidates:
        reasons[candidates[0].arn].append("floor:newest")
    if not policy.has_rules():
        for b in candidates:
            reasons[b.arn].append("no-policy")
    _apply_rules(candidates, policy, now, zone, reasons)
    doomed = [b for b in candidates if not reasons[b.arn]]
    for b in doomed:
        reasons[b.arn].append("expired")
    if max_deletes is not None and len(doomed) > max_deletes:
        for b in doomed[: len(doomed) - max_deletes]:  # newest doomed wait for the next run
            reasons[b.arn] = ["floor:max-deletes"]
    return [_decision(b, reasons[b.arn]) for b in ordered]


def _floor(backup: BackupRecord, policy: RetentionPolicy, reasons: list[str]) -> str | None:
    """The floor that keeps `backup` out of the rules, if any (recorded in `reasons`)."""
    floor = None
    if backup.status == "DELETED":
        floor = "already-deleted"
    elif backup.status != "AVAILABLE":
        floor = "floor:in-progress"
    elif not backup.owned and not policy.adopt_existing:
        floor = "floor:not-owned"
    if floor is not None:
        reasons.append(floor)
    return floor


def _apply_rules(candidates: Sequence[BackupRecord], policy: RetentionPolicy, now: datetime,
                 zone: tzinfo, reasons: dict[str, list[str]]) -> None:
    """Record which rules keep which candidates (newest first)."""
    if policy.keep_last is not None:
        for b in candidates[: policy.keep_last]:
            reasons[b.arn].append("keep_last")
    if policy.keep_days is not None:
        horizon = now - timedelta(days=policy.keep_days)
        for b in candidates:
            if b.created < horizon:
                break
            reasons[b.arn].append("keep_days")
    rules = [(name, count) for name in PERIOD_RULES
             if (count := getattr(policy, name)) is not None]
    if rules:
        _apply_periods(candidates, rules, zone, reasons)


def _apply_periods(candidates: Sequence[BackupRecord], rules: list[tuple[str, int]],
                   zone: tzinfo, reasons: dict[str, list[str]]) -> None:
    """restic's bucket walk: newest first, the first backup of each new period is kept.

    Rather than computing every backup's period, jump from a kept backup straight past the
    start of its period (bisect on creation time): N periods cost N steps, not a full scan.
    """
    stamps = [-b.created.timestamp() for b in candidates]  # ascending
    for name, count in rules:
        start_of = PERIOD_STARTS[name]
        index, left = 0, count
        while index < len(candidates) and left > 0:
            kept = candidates[index]
            reasons[kept.arn].append(name)
            left -= 1
            boundary = start_of(kept.created.astimezone(zone)).timestamp()
            index = bisect.bisect_right(stamps, -boundary)


def _decision(backup: BackupRecord, reasons: list[str]) -> Decision:
    if reasons == ["expired"]:
        return Decision(backup.arn, "delete", ("expired",), backup.created)
    ordered = tuple(reasons) if len(reasons) == 1 else tuple(sorted(reasons, key=REASON_RANK.__getitem__))
    return Decision(backup.arn, "keep", ordered, backup.created)
