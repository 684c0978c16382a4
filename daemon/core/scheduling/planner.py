"""What is due: slots, backup names, table selection, and the spread of starts (pure).

A run of a schedule is identified by its slot time. The backup's name (dynamodb engine) or
its idempotency token and tags (aws-backup engine) carry (schedule, slot), so "already done
for this slot" is read back from AWS and a restart or a second replica never doubles a
backup. Starts are spread over the first part of the window by a hash of (schedule, table):
stable across restarts and replicas, so both agree on when a table is due.
"""

from __future__ import annotations

import bisect
import fnmatch
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from daemon.core.scheduling.schedule import Expression

SLOT_FORMAT = "%Y%m%d%H%M"
SLOT_DIGITS = 12
MAX_MISSED_COUNTED = 10_000


@dataclass(frozen=True, slots=True)
class Selector:
    """Which tables a schedule covers: name globs, a regex, tags (all must match), exclusions.

    A table is selected when it matches any glob or the regex (no name rule: every name), and
    carries every tag pair, and matches no exclusion glob.
    """

    globs: tuple[str, ...] = ()
    regex: str | None = None
    tags: tuple[tuple[str, str], ...] = ()
    exclude: tuple[str, ...] = ()
    _compiled: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @classmethod
    def build(cls, globs: Iterable[str], regex: str | None, tags: Mapping[str, str],
              exclude: Iterable[str]) -> Selector:
        return cls(tuple(globs), regex, tuple(sorted(tags.items())), tuple(exclude),
                   re.compile(regex) if regex else None)

    @property
    def needs_tags(self) -> bool:
        return bool(self.tags)

    def selects(self, name: str, tags: Mapping[str, str] | None = None) -> bool:
        if any(fnmatch.fnmatchcase(name, pattern) for pattern in self.exclude):
            return False
        by_name = [fnmatch.fnmatchcase(name, g) for g in self.globs]
        if self._compiled is not None:
            by_name.append(self._compiled.search(name) is not None)
        if by_name and not any(by_name):
            return False
        have = tags or {}
        return all(have.get(key) == value for key, value in self.tags)


def backup_name(prefix: str, schedule: str, slot: datetime) -> str:
    """`<prefix>-<schedule>-<YYYYMMDDHHMM>` of the slot in UTC (DynamoDB: [A-Za-z0-9_.-])."""
    return f"{prefix}-{schedule}-{slot.astimezone(UTC).strftime(SLOT_FORMAT)}"


def parse_backup_name(prefix: str, schedule: str, name: str) -> datetime | None:
    """The slot encoded in `name` if this schedule made it, else None."""
    head = f"{prefix}-{schedule}-"
    digits = name[len(head):]
    if not name.startswith(head) or len(digits) != SLOT_DIGITS or not digits.isdigit():
        return None
    try:
        return datetime.strptime(digits, SLOT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def idempotency_token(schedule: str, table: str, slot: datetime) -> str:
    """StartBackupJob's IdempotencyToken: the same (schedule, table, slot) gives the same one."""
    key = f"{schedule}\0{table}\0{slot.astimezone(UTC).strftime(SLOT_FORMAT)}"
    return hashlib.sha256(key.encode()).hexdigest()[:64]


def spread_fraction(schedule: str, table: str) -> float:
    """A stable number in [0, 1) that places a table's start inside the spread."""
    digest = hashlib.blake2b(f"{schedule}\0{table}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def spread_seconds(window: timedelta, wanted: float, interval_seconds: float) -> float:
    """How far starts may be spread: at most `wanted`, half the window, half the interval."""
    limits = [wanted, window.total_seconds() / 2]
    if interval_seconds > 0:
        limits.append(interval_seconds / 2)
    return max(0.0, min(limits))


@dataclass(frozen=True, slots=True)
class SpreadOrder:
    """A schedule's tables sorted by their place in the spread, for a bisect per tick."""

    fractions: tuple[float, ...]
    tables: tuple[str, ...]

    @classmethod
    def of(cls, schedule: str, tables: Iterable[str]) -> SpreadOrder:
        pairs = sorted((spread_fraction(schedule, t), t) for t in tables)
        return cls(tuple(f for f, _ in pairs), tuple(t for _, t in pairs))

    def started_by(self, elapsed: float, spread: float) -> Sequence[str]:
        """Tables whose start time (slot + fraction * spread) is at or before slot + elapsed."""
        if spread <= 0:
            return self.tables
        return self.tables[: bisect.bisect_right(self.fractions, elapsed / spread)]


def due_slot(expression: Expression, now: datetime, window: timedelta) -> datetime | None:
    """The slot due at `now`: the latest slot, if `now` is still inside its start window."""
    slot = expression.at_or_before(now)
    if slot is None or now - slot > window:
        return None
    return slot


def due_tables(order: SpreadOrder, slot: datetime, now: datetime, spread: float,
               done: set[str]) -> list[str]:
    """Tables of this slot whose turn in the spread has come and that AWS shows not done."""
    elapsed = (now - slot).total_seconds()
    return [t for t in order.started_by(elapsed, spread) if t not in done]


def missed_slots(expression: Expression, last_seen: datetime | None, current: datetime | None,
                 ) -> list[datetime]:
    """Slots strictly between `last_seen` and `current`: nobody ran them (daemon down).

    Bounded: at most MAX_MISSED_COUNTED are returned, so a long outage of a
    `rate(1 minute)` schedule costs nothing to count.
    """
    if last_seen is None or current is None or current <= last_seen:
        return []
    missed: list[datetime] = []
    moment = last_seen
    while len(missed) < MAX_MISSED_COUNTED:
        run = expression.after(moment)
        if run is None or run >= current:
            break
        missed.append(run)
        moment = run
    return missed
