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

import structlog

from daemon.aws.throttle import Throttle
from daemon.core.alerts import Alert
from daemon.core.scheduling.admission import AdmissionQueue, Pending
from daemon.core.scheduling.planner import due_slot, due_tables, missed_slots
from daemon.kernel.context import AppContext
from daemon.kernel.supervisor import Component, sleep_or_stop
from daemon.scheduling.discovery import TableCatalog, TableInfo
from daemon.scheduling.engines import AwsBackupEngine, Engine, NativeEngine
from daemon.scheduling.retention import RetentionRunner
from daemon.scheduling.slots import ScheduleState, SlotRun
from daemon.scheduling.starter import Starter

log = structlog.get_logger(__name__)
MAX_LOOKBACK = timedelta(days=35)


class BackupScheduler:
    """Starts each schedule's backups once per slot, within its start window."""

    name = "scheduler"

    def __init__(self, ctx: AppContext, catalog: TableCatalog, engines: dict[str, Engine],
                 retention: RetentionRunner | None = None) -> None:
        self.ctx = ctx
        self.catalog = catalog
        settings = ctx.settings
        now = ctx.clock.now()
        self.states = {s.name: ScheduleState.of(s, engines[s.engine], now)
                       for s in settings.schedules if s.enabled}
        ratio = settings.scheduler.admission_ratio or settings.critical_ratio
        self.queue = AdmissionQueue(int(settings.limit_bytes * ratio),
                                    settings.scheduler.admission_order)
        self.starter = Starter(ctx, self.states, catalog, retention)
        ctx.metrics.scheduler.register_schedules((s.spec.name, s.spec.engine)
                                                 for s in self.states.values())
        for state in self.states.values():
            ctx.metrics.scheduler.expected_interval(state.spec.name, state.interval_seconds)
        last_success = ctx.metrics.scheduler.last_success_at
        ctx.board.add("schedules", lambda: {n: s.status(last_success(n))
                                            for n, s in self.states.items()})

    async def run(self, stop: asyncio.Event) -> None:
        self.starter.stop = stop
        tick = self.ctx.settings.scheduler.tick_seconds
        while not self.catalog.refreshed.is_set():
            if await sleep_or_stop(min(tick, 1.0), stop):
                return
        while not stop.is_set():
            try:
                await self.run_once(self.ctx.clock.now())
            except Exception:
                log.exception("scheduler.pass_failed")
            if await sleep_or_stop(tick, stop):
                break
        await self.starter.drain()

    async def run_once(self, now: datetime) -> None:
        """One pass: plan every schedule, then start what admission lets through."""
        for state in self.states.values():
            try:
                await self._plan(state, now)
            except Exception:
                log.exception("scheduler.plan_failed", schedule=state.spec.name)
        admission = self.queue.admit(self.starter.running_bytes(), now)
        for item in admission.newly_deferred:
            self.ctx.metrics.scheduler.deferred(item.schedule)
            run = self.states[item.schedule].run
            if run is not None:
                run.count("deferred")
            log.info("backup.deferred", schedule=item.schedule, table=item.table,
                     size_bytes=item.size_bytes)
        for item in admission.oversized:
            log.warning("backup.oversized", schedule=item.schedule, table=item.table,
                        size_bytes=item.size_bytes, budget_bytes=self.queue.budget_bytes)
        self.ctx.metrics.scheduler.admission_queue(len(self.queue))
        await asyncio.gather(*(self.starter.start(self.states[p.schedule], p)
                               for p in admission.start))

    async def _plan(self, state: ScheduleState, now: datetime) -> None:
        spec = state.spec
        state.next_run = state.expression.after(now)
        self.ctx.metrics.scheduler.next_run(
            spec.name, None if state.next_run is None else state.next_run.timestamp())
        latest = state.expression.at_or_before(now)
        await self._count_missed(state, latest, now)
        if state.run is not None and (state.run.slot != latest or now > state.run.deadline):
            self._close(state, state.run)
        slot = due_slot(state.expression, now, state.window)
        if slot is None:
            return
        if state.run is None or state.run.slot != slot:
            state.run = SlotRun(slot, slot + state.window)
        run = state.run
        state.refresh_selection(self.catalog)
        self.ctx.metrics.scheduler.selected_tables(spec.name, len(state.selected))
        assert state.order is not None
        busy = run.done_tables() | run.in_flight | self.queue.waiting(spec.name, slot)
        due = due_tables(state.order, slot, now, state.spread(self._spread()), busy)
        if run.listed_at is None or run.dirty or due:
            await self.starter.refresh(state, run, now)
            due = [t for t in due if t not in run.done_tables()]
        run.pending = set(state.selected).difference(run.done_tables())
        for table in due:
            info = self.catalog.get(table) or TableInfo(table)
            self.queue.offer(Pending(spec.name, table, slot, info.size_bytes, run.deadline))
        self.starter.maybe_request_retention(state, run)

    def _spread(self) -> float:
        return self.ctx.settings.scheduler.spread_seconds

    async def _count_missed(self, state: ScheduleState, latest: datetime | None,
                            now: datetime) -> None:
        """Slots nobody ran: between the last one seen (or found in AWS at start) and now."""
        if latest == state.last_slot:
            return
        previous = state.last_slot
        if not state.initialized:
            state.initialized = True
            lookback = min(MAX_LOOKBACK, timedelta(seconds=2 * state.interval_seconds)
                           + state.window)
            previous = await state.engine.latest_slot(state.spec, now - lookback)
        missed = missed_slots(state.expression, previous, latest)
        if (latest is not None and previous is not None and latest != previous
                and now - latest > state.window):
            missed.append(latest)
        state.last_slot = latest
        if missed:
            state.missed_slots += len(missed)
            self.ctx.metrics.scheduler.missed_slots(state.spec.name, len(missed))
            log.warning("schedule.slots_missed", schedule=state.spec.name, count=len(missed),
                        first=missed[0].isoformat(), last=missed[-1].isoformat())

    def _close(self, state: ScheduleState, run: SlotRun) -> None:
        """The window of `run` is over: tables still not backed up are missed."""
        spec = state.spec
        for table in run.pending:
            self.queue.discard(spec.name, table, run.slot)
        missed = sorted(run.pending - run.done_tables() - run.in_flight)
        if missed:
            run.count("missed", len(missed))
            self.ctx.metrics.scheduler.backup(spec.name, spec.engine, "missed", len(missed))
            state.missed_slots += 1
            self.ctx.metrics.scheduler.missed_slots(spec.name, 1)
            log.warning("backup.missed", schedule=spec.name, slot=run.slot.isoformat(),
                        tables=len(missed), deferred=run.counts.get("deferred", 0))
            self.ctx.alerts.submit(Alert(
                "warning", "backup_missed",
                f"Backups missed: {spec.name} slot {run.slot:%Y-%m-%d %H:%M} UTC, "
                f"{len(missed)} table(s)",
                {"schedule": spec.name, "slot": run.slot.isoformat(), "tables": missed[:100],
                 "deferred_by_admission": run.counts.get("deferred", 0)}))
        state.last_result = {"slot": run.slot, "tables_done": len(run.done_tables()),
                             "missed": len(missed), "counts": dict(run.counts)}
        state.run = None


def build_scheduler(ctx: AppContext) -> list[Component]:
    """The scheduler's components: table discovery, the scheduler, retention (leader only)."""
    settings = ctx.settings
    if not settings.scheduler.enabled or not any(s.enabled for s in settings.schedules):
        return []
    throttle = Throttle(settings.scheduler.api_calls_per_second, settings.scheduler.concurrency)
    catalog = TableCatalog(ctx, throttle, want_tags=any(s.tags for s in settings.schedules))
    names = [s.name for s in settings.schedules]
    native = NativeEngine(ctx, throttle, names)
    engines: dict[str, Engine] = {"dynamodb": native, "aws-backup": AwsBackupEngine(ctx, throttle)}
    retention = RetentionRunner(ctx, catalog, throttle, native)
    scheduler = BackupScheduler(ctx, catalog, engines, retention)
    return [catalog, scheduler, retention]
