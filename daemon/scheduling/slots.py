"""The scheduler's memory of each schedule and of its current slot.

In-memory only, and only a cache: every fact here was read from AWS (ListBackups,
ListBackupJobs) or is the answer AWS gave to our own call. After a restart the first
listing of the slot rebuilds it, which is why a restart never doubles a backup.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from daemon.config.schedules import ScheduleSpec
from daemon.core.scheduling.inventory import Listed, duplicates, retention_status
from daemon.core.scheduling.planner import Selector, SpreadOrder, missed_slots, spread_seconds
from daemon.core.scheduling.schedule import Expression, expected_interval_seconds
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.engines import Engine


@dataclass
class SlotRun:
    """One slot of one schedule while its start window is open.

    The scheduler and the starter read its fields; only its methods change them.
    """

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

    def wants_listing(self) -> bool:
        """Never listed yet, or we started something since the last listing."""
        return self.listed_at is None or self.dirty

    def listed(self, found: list[Listed], at: datetime) -> list[Listed]:
        """Record what a listing taken `at` showed; return the duplicates to be deleted."""
        self.listed_at, self.dirty = at, False
        for item in found:
            self._add(item)
        return duplicates(self.backups.values())

    def list_again(self) -> None:
        """Look at AWS again next tick (a duplicate still CREATING could not be deleted)."""
        self.dirty = True

    def track(self, selected: Iterable[str]) -> None:
        """The selected tables not seen done yet are this slot's pending ones."""
        self.pending = set(selected).difference(self._done)

    def starting(self, table: str) -> None:
        self.in_flight.add(table)

    def start_ended(self, table: str) -> None:
        self.in_flight.discard(table)

    def started(self, item: Listed) -> None:
        """Our start call answered: the table is done; the next tick lists again."""
        self._add(item)
        self.dirty = True
        self.count("started")

    def table_gone(self, table: str) -> None:
        """The table was deleted: nothing is pending for it any more."""
        self.pending.discard(table)

    def pretend(self, table: str) -> None:
        """Dry run: count the table as done without a backup."""
        self.dry.add(table)
        self._done.add(table)
        self.count("dry_run")

    def forget(self, arn: str) -> None:
        gone = self.backups.pop(arn, None)
        if gone is not None and gone.table not in self.dry and not any(
                b.table == gone.table for b in self.backups.values()):
            self._done.discard(gone.table)

    def request_retention(self) -> bool:
        """True the first time only: retention is asked once per slot."""
        if self.retention_requested:
            return False
        self.retention_requested = True
        return True

    def count(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] = self.counts.get(outcome, 0) + n

    def _add(self, item: Listed) -> None:
        self.backups[item.arn] = item
        self._done.add(item.table)

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

    def plan_next(self, now: datetime) -> datetime | None:
        """The next run after `now` (shown on /status)."""
        self.next_run = self.expression.after(now)
        return self.next_run

    def move_to(self, latest: datetime | None, previous: datetime | None,
                now: datetime) -> list[datetime]:
        """Move on to the slot `latest` from `previous` (the last slot seen, or at the first
        look the newest one AWS shows); return the slots nobody ran in between."""
        missed = missed_slots(self.expression, previous, latest)
        if (latest is not None and previous is not None and latest != previous
                and now - latest > self.window):
            missed.append(latest)
        self.initialized = True
        self.last_slot = latest
        self.missed_slots += len(missed)
        return missed

    def open(self, slot: datetime) -> SlotRun:
        """The run of `slot`: the current one, or a new one when the slot moved on."""
        if self.run is None or self.run.slot != slot:
            self.run = SlotRun(slot, slot + self.window)
        return self.run

    def close(self) -> tuple[SlotRun, list[str]] | None:
        """End the current run; (the run, its selected tables never backed up)."""
        run = self.run
        if run is None:
            return None
        missed = sorted(run.pending - run.done_tables() - run.in_flight)
        if missed:
            run.count("missed", len(missed))
            self.missed_slots += 1
        self.last_result = {"slot": run.slot, "tables_done": len(run.done_tables()),
                            "missed": len(missed), "counts": dict(run.counts)}
        self.run = None
        return run, missed

    def count(self, slot: datetime, outcome: str) -> None:
        """Count an outcome of `slot` on its run, while that run is still the current one."""
        if self.run is not None and self.run.slot == slot:
            self.run.count(outcome)

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
