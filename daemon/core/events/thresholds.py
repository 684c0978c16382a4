"""Threshold levels of the bytes backing up now, with hysteresis, and the alerts they raise.

AWS's limits apply per account and region, so levels do too: one `ThresholdState` per
(account, region), each against the limit `LimitTable` gives it (the default, else the
account's, else the account's in that region). Pure: `evaluate(state, total, ..., now)`
returns the next state and the change, if any; publishing is kernel/outbox.py's job.
Escalation is immediate (a breach is news at once); de-escalation waits until the total is
below the level *and* `cooldown_seconds` have passed since the last change, so a total
hovering at a boundary changes the level (and pages someone) at most once per cooldown.
Also builds the failed-job alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from daemon.core import arns
from daemon.core.alerts import Alert, Severity
from daemon.core.events.models import JobEvent
from daemon.core.events.tracker import TrackedJob
from daemon.core.text import human_bytes

PREFIX = "ddb-backupd"


class Level(IntEnum):
    """Threshold level, exported as backupd_threshold_level."""

    OK = 0
    WARNING = 1
    CRITICAL = 2


SEVERITY: dict[Level, Severity] = {
    Level.OK: "info", Level.WARNING: "warning", Level.CRITICAL: "critical"}


@dataclass(frozen=True, slots=True)
class ThresholdState:
    """The current level and when it last changed (None: never)."""

    level: Level = Level.OK
    changed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class LevelChange:
    """A change of level, to be announced."""

    previous: Level
    level: Level
    at: datetime


@dataclass(frozen=True, slots=True)
class LimitTable:
    """The limit of running bytes per (account, region): the most specific entry wins."""

    default: int
    accounts: Mapping[str, int] = field(default_factory=dict)
    regions: Mapping[tuple[str, str], int] = field(default_factory=dict)

    def limit(self, account: str, region: str) -> int:
        """The limit of `account` in `region`."""
        found = self.regions.get((account, region))
        if found is None:
            found = self.accounts.get(account, self.default)
        return found


def level_for(total: int, *, limit: int, warning_ratio: float, critical_ratio: float) -> Level:
    """The level `total` bytes reach, without hysteresis."""
    if total >= limit * critical_ratio:
        return Level.CRITICAL
    if total >= limit * warning_ratio:
        return Level.WARNING
    return Level.OK


def evaluate(
    state: ThresholdState, total: int, *, limit: int, warning_ratio: float,
    critical_ratio: float, cooldown_seconds: float, now: datetime,
) -> tuple[ThresholdState, LevelChange | None]:
    """The next state for `total` bytes at `now`, and the change to announce (None: none)."""
    target = level_for(total, limit=limit, warning_ratio=warning_ratio,
                       critical_ratio=critical_ratio)
    if target == state.level:
        return state, None
    cooled = (state.changed_at is None
              or (now - state.changed_at).total_seconds() >= cooldown_seconds)
    if target < state.level and not cooled:
        return state, None
    return ThresholdState(target, now), LevelChange(state.level, target, now)


def level_alert(change: LevelChange, *, total: int, limit: int, account: str | None = None,
                region: str | None = None) -> Alert:
    """The alert announcing a change of level ("cleared" when back to ok) of the running
    backups of `account` in `region` (named in subject and body when known)."""
    cleared = change.level == Level.OK
    event = "threshold.cleared" if cleared else f"threshold.{change.level.name.lower()}"
    share = total / limit if limit else 0.0
    where = "/".join(x for x in (account, region) if x)
    subject = (f"{PREFIX}: running backups {'back to OK' if cleared else change.level.name}"
               f"{' in ' + where if where else ''}: "
               f"{human_bytes(total)} of {human_bytes(limit)} limit ({share:.0%})")
    return Alert(severity=SEVERITY[change.level], event=event, subject=subject, body={
        "event": event, "level": change.level.name.lower(),
        "previous_level": change.previous.name.lower(), "running_bytes": total,
        "limit_bytes": limit, "ratio": round(share, 4), "account": account, "region": region,
        "at": _iso(change.at)})


def failure_alert(event: JobEvent, job: TrackedJob | None = None) -> Alert:
    """The alert for a job that ended FAILED, ABORTED, EXPIRED or PARTIAL."""
    state = (job.state if job else event.state) or "UNKNOWN"
    severity: Severity = "warning" if state == "PARTIAL" else "critical"
    resource = (job.resource_arn if job else None) or event.resource_arn
    size = job.size_bytes if job and job.size_bytes is not None else event.size_bytes
    kind = event.kind.replace("_", " ")
    place = "/".join(x for x in (event.account, event.region) if x)
    where = ", ".join(x for x in (event.resource_type, place) if x)
    subject = f"{PREFIX}: {kind} {state}: {resource_name(resource) or event.job_id or '?'}"
    return Alert(
        severity=severity, event=f"job.{state.lower()}",
        subject=subject + (f" ({where})" if where else ""),
        body={"event": f"job.{state.lower()}", "kind": event.kind, "job_id": event.job_id,
              "state": state, "resource_arn": resource,
              "resource_type": event.resource_type, "vault": event.vault,
              "region": event.region, "account": event.account,
              "status_message": event.status_message, "size_bytes": size,
              "recovery_point_arn": event.recovery_point_arn, "time": _iso(event.time)})


def resource_name(arn: str | None) -> str | None:
    """What a person calls the resource: a table's name, else the ARN's last path segment
    (`arns.short_name`); text that is not an ARN is shown as it is."""
    if not arn:
        return None
    return arns.short_name(arn) or arn


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
