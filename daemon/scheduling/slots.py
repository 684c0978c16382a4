"""The scheduler's memory of each schedule and of its current slot.

In-memory only, and only a cache: every fact here was read from AWS (ListBackups,
ListBackupJobs) or is the answer AWS gave to our own call. After a restart the first
listing of the slot rebuilds it, which is why a restart never doubles a backup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from daemon.config.schedules import ScheduleSpec
from daemon.core.scheduling.inventory import Listed, duplicates, retention_status
from daemon.core.scheduling.planner import Selector, SpreadOrder, spread_seconds
from daemon.core.scheduling.schedule import Expression, expected_interval_seconds
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.engines import Engine


@dataclass
class SlotRun:
    """One slot of one schedule while its start window is open."""

    slot: datetime
    deadline: datetime
    backups: dict[str, Listed] = field(default_factory=dict)  # arn -> backup of this slot
    listed_at: datetime | None = None
    dirty: bool = True  # we started something since the last listing
    in_flight: set[str] = field(default_factory=set)
    dry: set[str] = field(default_factory=set)  # dry-run: "would have started"
    pending: set[str] = field(default_factory=set)  # selected, not yet seen done
    counts: dict[str, int] = field(default_factory=dict)
    retention_requested: bool = False
    _done: set[str] = field(default_factory=set)  # tables with a backup (kept incrementally)

    def done_tables(self) -> set[str]:
        """Tables AWS shows a backup of for this slot (or dry-run pretended one): a live view."""
        return self._done

    def add(self, item: Listed) -> None:
        self.backups[item.arn] = item
        self._done.add(item.table)

    def pretend(self, table: str) -> None:
        """Dry run: count the table as done without a backup."""
        self.dry.add(table)
        self._done.add(table)

    def merge(self, listed: list[Listed]) -> list[Listed]:
        """Add what a listing showed; return the duplicates that must be deleted."""
        for item in listed:
            self.add(item)
        return duplicates(self.backups.values())

    def forget(self, arn: str) -> None:
        gone = self.backups.pop(arn, None)
        if gone is not None and gone.table not in self.dry and not any(
                b.table == gone.table for b in self.backups.values()):
            self._done.discard(gone.table)

    def count(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + n

    def creating(self) -> list[Listed]:
        return [b for b in self.backups.values() if retention_status(b.status) == "CREATING"]


@dataclass
class ScheduleState:
    """One schedule: its parsed expression, engine, selection and current slot."""

    spec: ScheduleSpec
    expression: Expression
    engine: Engine
    selector: Selector
    interval_seconds: float
    run: SlotRun | None = None
    last_slot: datetime | None = None
    initialized: bool = False
    order: SpreadOrder | None = None
    order_version: int = -1
    selected: tuple[str, ...] = ()
    last_result: dict[str, Any] | None = None
    next_run: datetime | None = None
    missed_slots: int = 0  # since start

    @classmethod
    def of(cls, spec: ScheduleSpec, engine: Engine, now: datetime) -> ScheduleState:
        expression = spec.parsed()
        return cls(spec, expression, engine, spec.selector(),
                   expected_interval_seconds(expression, now))

    @property
    def window(self) -> timedelta:
        return timedelta(minutes=self.spec.start_window_minutes)

    def spread(self, wanted: float) -> float:
        return spread_seconds(self.window, wanted, self.interval_seconds)

    def refresh_selection(self, catalog: TableCatalog) -> None:
        """Re-select tables when the catalog changed (sorted into spread order once)."""
        if catalog.version == self.order_version:
            return
        chosen = [t.name for t in catalog.tables.values()
                  if self.selector.selects(t.name, t.tags)]
        self.selected = tuple(sorted(chosen))
        self.order = SpreadOrder.of(self.spec.name, chosen)
        self.order_version = catalog.version

    def status(self, last_success: datetime | None) -> dict[str, Any]:
        """This schedule's section of `/status`."""
        run = self.run
        return {
            "expression": self.spec.expression, "timezone": self.spec.timezone,
            "engine": self.spec.engine, "tables_selected": len(self.selected),
            "next_run": self.next_run, "last_success": last_success,
            "missed_slots": self.missed_slots,
            "current_slot": None if run is None else {
                "slot": run.slot, "deadline": run.deadline,
                "done": len(run.done_tables()), "pending": len(run.pending),
                "in_flight": len(run.in_flight), "counts": dict(run.counts)},
            "last_result": self.last_result,
        }
