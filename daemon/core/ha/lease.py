"""Pure decisions of leader election over a lease record (client-go's algorithm, no I/O).

Replicas never compare wall clocks. A follower remembers when it first saw a given record
(holder + version) on its own monotonic clock, and takes the lease over only when that very
record has stayed unchanged for the record's `lease_seconds`. A leader counts from the start
of its last successful write: whoever saw that write saw it later, so the leader stopping at
`renew_deadline` (< lease) is stopped before any follower can think the lease expired.
Times here are monotonic seconds (`loop.time()`), except the wall-clock stamps for humans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

IDENTITY_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The lease item as stored: who holds it, a version that changes with every write."""

    holder: str
    version: str
    lease_seconds: float
    acquired_at: datetime
    renewed_at: datetime
    transitions: int = 0

    def same_write(self, other: LeaseRecord | None) -> bool:
        """True when `other` is this very write (a renewal always changes the version)."""
        return other is not None and (other.holder, other.version) == (self.holder, self.version)


@dataclass(frozen=True, slots=True)
class Observation:
    """A record as a follower saw it, and when (monotonic) it first saw that exact write."""

    record: LeaseRecord | None
    first_seen: float


class Action(StrEnum):
    """What to do with the lease after reading it."""

    CREATE = "create"  # no item: put one, on condition that none exists
    TAKEOVER = "takeover"  # released or expired: replace it, on condition it is unchanged
    RENEW = "renew"  # ours: rewrite it, on condition it is unchanged
    WAIT = "wait"  # someone else's and still live


@dataclass(frozen=True, slots=True)
class Decision:
    """An action, the version the conditional write expects, and until when to wait."""

    action: Action
    expected_version: str | None = None
    wait_until: float | None = None


def observe(previous: Observation | None, record: LeaseRecord | None, now: float) -> Observation:
    """Keep the first-seen time while the record is the same write; restart it on any change."""
    if previous is not None:
        same = (record is None and previous.record is None) or (
            record is not None and record.same_write(previous.record))
        if same:
            return Observation(record, previous.first_seen)
    return Observation(record, now)


def decide(me: str, seen: Observation, now: float) -> Decision:
    """The one step of the election a replica takes after reading the lease."""
    record = seen.record
    if record is None:
        return Decision(Action.CREATE)
    if record.holder == me:
        return Decision(Action.RENEW, expected_version=record.version)
    if not record.holder:
        return Decision(Action.TAKEOVER, expected_version=record.version)
    expires = seen.first_seen + record.lease_seconds
    if now >= expires:
        return Decision(Action.TAKEOVER, expected_version=record.version)
    return Decision(Action.WAIT, expected_version=record.version, wait_until=expires)


def next_record(me: str, previous: LeaseRecord | None, *, version: str, lease_seconds: float,
                now: datetime) -> LeaseRecord:
    """The record to write: a renewal keeps `acquired_at`, a change of holder counts one more."""
    if previous is not None and previous.holder == me:
        return LeaseRecord(me, version, lease_seconds, previous.acquired_at, now,
                           previous.transitions)
    transitions = previous.transitions + 1 if previous is not None else 0
    return LeaseRecord(me, version, lease_seconds, now, now, transitions)


def step_down_at(last_renewal_started: float, renew_deadline: float) -> float:
    """When a leader that cannot renew must stop leading (its own monotonic clock)."""
    return last_renewal_started + renew_deadline


def fence_at(last_renewal_started: float, lease_seconds: float) -> float:
    """The earliest moment a follower may take over: mutating work must be over by then."""
    return last_renewal_started + lease_seconds


def holder_identity(base: str, suffix: str) -> str:
    """`<pod or host name>-<random suffix>`, restricted to safe characters and 200 long."""
    clean = IDENTITY_UNSAFE.sub("-", base.strip()) or "ddb-backupd"
    return f"{clean[:180]}-{suffix}"
