"""Admission control: start a backup only while the bytes backing up stay under the budget.

AWS Backup accepts far more concurrent work than an account should run at once; the team's
alarm is "bytes backing up > critical share of the limit". Before a start, the scheduler
asks the job tracker for the bytes backing up now; if that plus the table's size would pass
`admission_ratio` x `limit_bytes`, the backup waits here, in largest-first or FIFO order,
and starts when room frees up, still inside its start window. Past the window it is
returned as expired (the caller counts it missed and alerts). A table larger than the whole
budget would never fit: it starts alone, when nothing else is running, with a warning.

Lower-priority items that fit are started while a larger one waits (backfill): the order
says who goes first, not who blocks whom.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

Order = Literal["largest-first", "fifo"]


@dataclass(frozen=True, slots=True)
class Pending:
    """One backup waiting for room: which table, for which slot, how big, until when."""

    schedule: str
    table: str
    slot: datetime
    size_bytes: int
    deadline: datetime

    @property
    def key(self) -> tuple[str, str, datetime]:
        return (self.schedule, self.table, self.slot)


@dataclass(frozen=True, slots=True)
class Admission:
    """The outcome of one pass: start these now, give up on those, these started oversized."""

    start: list[Pending]
    expired: list[Pending]
    oversized: list[Pending]
    newly_deferred: list[Pending]


@dataclass
class AdmissionQueue:
    """Backups waiting for their turn; `admit` is called once per scheduler pass."""

    budget_bytes: int
    order: Order = "largest-first"
    _items: dict[tuple[str, str, datetime], tuple[int, Pending]] = field(default_factory=dict)
    _deferred: set[tuple[str, str, datetime]] = field(default_factory=set)
    _seq: itertools.count[int] = field(default_factory=itertools.count)

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, item: Pending) -> None:
        """Queue a due backup; offering one already waiting keeps its place."""
        if item.key not in self._items:
            self._items[item.key] = (next(self._seq), item)

    def contains(self, schedule: str, table: str, slot: datetime) -> bool:
        return (schedule, table, slot) in self._items

    def waiting(self, schedule: str, slot: datetime) -> set[str]:
        """Tables of one schedule's slot that are waiting here."""
        return {table for (name, table, at) in self._items if name == schedule and at == slot}

    def discard(self, schedule: str, table: str, slot: datetime) -> None:
        """Forget an item (AWS shows it done, e.g. another replica made it)."""
        self._items.pop((schedule, table, slot), None)
        self._deferred.discard((schedule, table, slot))

    def admit(self, running_bytes: int, now: datetime) -> Admission:
        """Choose what starts now given the bytes already backing up."""
        expired = [p for _, p in self._items.values() if p.deadline < now]
        for p in expired:
            self.discard(*p.key)
        start, oversized = self._choose(max(0, running_bytes))
        for p in start:
            self.discard(*p.key)
        newly = [p for _, p in self._items.values() if p.key not in self._deferred]
        self._deferred.update(p.key for p in newly)
        return Admission(start, expired, oversized, newly)

    def _choose(self, running: int) -> tuple[list[Pending], list[Pending]]:
        room = self.budget_bytes - running
        start: list[Pending] = []
        for item in self._ordered():
            if item.size_bytes <= room:
                start.append(item)
                room -= item.size_bytes
            elif item.size_bytes > self.budget_bytes and running == 0 and not start:
                return [item], [item]
        return start, []

    def _ordered(self) -> list[Pending]:
        entries = list(self._items.values())
        if self.order == "largest-first":
            entries.sort(key=lambda e: (-e[1].size_bytes, e[0]))
        else:
            entries.sort(key=lambda e: e[0])
        return [p for _, p in entries]
