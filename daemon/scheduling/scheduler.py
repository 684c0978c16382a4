"""The backup scheduler: each tick, find the due slot of every schedule, ask AWS what is done,
queue the rest through admission control, and start what fits.

One pass (`run_once(now)`) per `tick_seconds`; `run(stop)` loops. Only the leader runs it.
Nothing it remembers is needed for correctness: "already done" is always read from AWS
first (see slots.py), duplicates made by a racing replica are deleted down to the earliest
one, and missed slots are counted from what AWS shows after a restart.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import structlog

from daemon.config.schedules import SchedulerSettings
from daemon.core.alerts import Alert
from daemon.core.clock import Clock
from daemon.core.scheduling.admission import AdmissionQueue, Pending
from daemon.core.scheduling.planner import due_slot, due_tables
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.supervisor import sleep_or_stop
from daemon.obs.metrics_scheduler import SchedulerMetrics
from daemon.scheduling.discovery import TableCatalog, TableInfo
from daemon.scheduling.slots import ScheduleState
from daemon.scheduling.starter import Starter

log = structlog.get_logger(__name__)
MAX_LOOKBACK = timedelta(days=35)


class BackupScheduler:
    """Starts each schedule's backups once per slot, within its start window."""

    name = "scheduler"

    def __init__(self, states: dict[str, ScheduleState], catalog: TableCatalog,
                 starter: Starter, queue: AdmissionQueue, cfg: SchedulerSettings, *,
                 metrics: SchedulerMetrics, alerts: AlertOutbox, clock: Clock) -> None:
        self.states = states
        self.catalog = catalog
        self.starter = starter
        self.queue = queue
        self._cfg = cfg
        self._metrics = metrics
        self._alerts = alerts
        self._clock = clock
        metrics.register_schedules((s.spec.name, s.spec.engine) for s in states.values())
        for state in states.values():
            metrics.expected_interval(state.spec.name, state.interval_seconds)

    def status(self) -> dict[str, Any]:
        """The `/status` section: each schedule's next run, last success, current slot and
        last result."""
        return {name: state.status(self._metrics.last_success_at(name))
                for name, state in self.states.items()}

    async def run(self, stop: asyncio.Event) -> None:
        self.starter.open()
        try:
            await self._loop(stop)
        finally:
            await self.starter.close()

    async def _loop(self, stop: asyncio.Event) -> None:
        tick = self._cfg.tick_seconds
        while not self.catalog.refreshed.is_set():
            if await sleep_or_stop(min(tick, 1.0), stop):
                return
        while not stop.is_set():
            try:
                await self.run_once(self._clock.now())
            except Exception:
                log.exception("scheduler.pass_failed")
            if await sleep_or_stop(tick, stop):
                return

    async def run_once(self, now: datetime) -> None:
        """One pass: plan every schedule, then start what admission lets through."""
        for state in self.states.values():
            try:
                await self._plan(state, now)
            except Exception:
                log.exception("scheduler.plan_failed", schedule=state.spec.name)
        admission = self.queue.admit(self.starter.running_bytes(), now)
        for item in admission.newly_deferred:
            self._metrics.deferred(item.schedule)
            self.states[item.schedule].count(item.slot, "deferred")
            log.info("backup.deferred", schedule=item.schedule, table=item.table,
                     size_bytes=item.size_bytes)
        for item in admission.oversized:
            log.warning("backup.oversized", schedule=item.schedule, table=item.table,
                        size_bytes=item.size_bytes, budget_bytes=self.queue.budget_bytes)
        self._metrics.admission_queue(len(self.queue))
        await asyncio.gather(*(self.starter.start(self.states[p.schedule], p)
                               for p in admission.start))

    async def _plan(self, state: ScheduleState, now: datetime) -> None:
        spec = state.spec
        upcoming = state.plan_next(now)
        self._metrics.next_run(
            spec.name, None if upcoming is None else upcoming.timestamp())
        latest = state.expression.at_or_before(now)
        await self._count_missed(state, latest, now)
        if state.run is not None and (state.run.slot != latest or now > state.run.deadline):
            self._close(state)
        slot = due_slot(state.expression, now, state.window)
        if slot is None:
            return
        run = state.open(slot)
        state.refresh_selection(self.catalog)
        self._metrics.selected_tables(spec.name, len(state.selected))
        assert state.order is not None
        busy = run.done_tables() | run.in_flight | self.queue.waiting(spec.name, slot)
        due = due_tables(state.order, slot, now, state.spread(self._spread()), busy)
        if run.wants_listing() or due:
            await self.starter.refresh(state, run, now)
            due = [t for t in due if t not in run.done_tables()]
        run.track(state.selected)
        for table in due:
            info = self.catalog.get(table) or TableInfo(table)
            self.queue.offer(Pending(spec.name, table, slot, info.size_bytes, run.deadline))
        self.starter.maybe_request_retention(state, run)

    def _spread(self) -> float:
        return self._cfg.spread_seconds

    async def _count_missed(self, state: ScheduleState, latest: datetime | None,
                            now: datetime) -> None:
        """Slots nobody ran: between the last one seen (or found in AWS at start) and now."""
        if latest == state.last_slot:
            return
        previous = state.last_slot
        if not state.initialized:
            lookback = min(MAX_LOOKBACK, timedelta(seconds=2 * state.interval_seconds)
                           + state.window)
            previous = await state.engine.latest_slot(state.spec, now - lookback)
        missed = state.move_to(latest, previous, now)
        if missed:
            self._metrics.missed_slots(state.spec.name, len(missed))
            log.warning("schedule.slots_missed", schedule=state.spec.name, count=len(missed),
                        first=missed[0].isoformat(), last=missed[-1].isoformat())

    def _close(self, state: ScheduleState) -> None:
        """The window of the current run is over: tables still not backed up are missed."""
        spec = state.spec
        closed = state.close()
        if closed is None:
            return
        run, missed = closed
        for table in run.pending:
            self.queue.discard(spec.name, table, run.slot)
        if missed:
            self._metrics.backup(spec.name, spec.engine, "missed", len(missed))
            self._metrics.missed_slots(spec.name, 1)
            log.warning("backup.missed", schedule=spec.name, slot=run.slot.isoformat(),
                        tables=len(missed), deferred=run.counts.get("deferred", 0))
            label = self._metrics.label(spec.name)  # <schedule>@<account> in a member
            self._alerts.submit(Alert(
                "warning", "backup_missed",
                f"Backups missed: {label} slot {run.slot:%Y-%m-%d %H:%M} UTC, "
                f"{len(missed)} table(s)",
                {"schedule": label, "slot": run.slot.isoformat(), "tables": missed[:100],
                 "deferred_by_admission": run.counts.get("deferred", 0)}))
