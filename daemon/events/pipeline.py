"""One message through the pipeline: decode -> tracker -> sizes -> thresholds -> alerts -> bus.

The decisions are the pure core's (decode, JobTable.apply, thresholds); this module only
sequences them, looks up missing sizes, and writes the one canonical log line per message.
Threshold levels are kept per (account, region), each against its own limit: a change is
checked where an event changed the totals, and everywhere on the watch's tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

import structlog

from daemon.config.settings import Settings
from daemon.core.clock import Clock
from daemon.core.errors import DecodeError
from daemon.core.events.accounts import refusal
from daemon.core.events.decode import FAILED_STATES, OPEN_STATES, JobEvent, decode
from daemon.core.events.thresholds import (
    LimitTable,
    ThresholdState,
    evaluate,
    failure_alert,
    level_alert,
)
from daemon.core.events.tracker import JobTable, ScopeKey, Transition
from daemon.events.sizes import table_name
from daemon.kernel.bus import BackupCompleted, CompletionBus
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.supervisor import sleep_or_stop
from daemon.obs.collector import ScopeLevel
from daemon.obs.metrics import EventMetrics

log = structlog.get_logger(__name__)
_OK = ThresholdState()
Outcome = Literal["handled", "ignored", "poison", "retry"]


class Sizes(Protocol):
    """Where a job without a size in its event gets one (`SizeResolver`)."""

    async def size_of(self, resource_arn: str | None) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Limits:
    """The threshold policy: the limits of running bytes per (account, region), the two
    levels, the cooldown."""

    table: LimitTable
    warning_ratio: float
    critical_ratio: float
    cooldown_seconds: float

    @property
    def limit_bytes(self) -> int:
        """The limit of every (account, region) without an override."""
        return self.table.default

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        overrides = settings.limits.overrides
        table = LimitTable(
            settings.limits.default_bytes or settings.limit_bytes,
            {o.account: o.limit_bytes for o in overrides if o.region is None},
            {(o.account, o.region): o.limit_bytes for o in overrides if o.region is not None})
        return cls(table, settings.warning_ratio, settings.critical_ratio,
                   settings.alert_cooldown_seconds)


class Pipeline:
    """Applies decoded events to the tracker and acts on what changed."""

    def __init__(self, tracker: JobTable, sizes: Sizes, limits: Limits, *,
                 metrics: EventMetrics, alerts: AlertOutbox, bus: CompletionBus,
                 clock: Clock, accounts: Collection[str] = ()) -> None:
        self._tracker = tracker
        self._accounts = frozenset(accounts)
        self._sizes = sizes
        self._limits = limits
        self._metrics = metrics
        self._alerts = alerts
        self._bus = bus
        self._clock = clock
        self._lookups: set[asyncio.Task[None]] = set()
        self._levels: dict[ScopeKey, ThresholdState] = {}

    @property
    def thresholds(self) -> ThresholdState:
        """The state of the highest level of any (account, region)."""
        return max(self._levels.values(), key=lambda s: s.level, default=ThresholdState())

    def thresholds_view(self) -> int:
        """The highest level (0 ok, 1 warning, 2 critical), read at scrape time."""
        return self.thresholds.level

    def levels(self) -> list[ScopeLevel]:
        """The level and limit of every (account, region) with jobs seen, in order."""
        limit = self._limits.table.limit
        return [ScopeLevel(account, region, state.level, limit(account, region))
                for (account, region), state in sorted(self._levels.items())]

    async def handle(self, body: str, *, receive_count: int = 1) -> Outcome:
        """Handle one SQS message body; the outcome decides whether it is deleted."""
        events = self._metrics
        try:
            event = decode(body)
        except DecodeError as exc:
            events.message("unknown", "poison")
            log.warning("message.rejected", reason=str(exc), receive_count=receive_count,
                        outcome="poison")
            return "poison"
        reason = event.reason if event.kind == "ignored" else refusal(event, self._accounts)
        if reason is not None:
            events.message("ignored", "ignored")
            log.info("message.ignored", reason=reason, account=event.account,
                     region=event.region, outcome="ignored")
            return "ignored"
        try:
            await self.apply(event, origin="event")
        except Exception as exc:
            events.message(event.kind, "retry")
            log.exception("message.failed", job_id=event.job_id, error=str(exc), outcome="retry")
            return "retry"
        events.message(event.kind, "handled")
        return "handled"

    def serves(self, event: JobEvent) -> bool:
        """Whether `event`'s account is served here (`accounts:`; empty: every account)."""
        return refusal(event, self._accounts) is None

    async def apply(self, event: JobEvent, *, origin: str) -> int:
        """Apply one event; returns 1 if the tracker changed, else 0."""
        transition = self._tracker.apply(event)
        with structlog.contextvars.bound_contextvars(
                job_id=event.job_id, table=table_name(event.resource_arn),
                resource_arn=event.resource_arn, vault=event.vault):
            if transition is None:
                log.info("message.handled", kind=event.kind, state=event.state,
                         change="none", origin=origin)
                return 0
            if (event.kind == "backup_job" and event.state in OPEN_STATES
                    and not event.size_bytes and event.job_id):
                self._size_later(event.job_id, event.resource_arn)
            log.info("job.state_changed", kind=event.kind, state=event.state,
                     previous_state=transition.previous_state, size_bytes=event.size_bytes,
                     origin=origin)
            self._after(event, transition)
        if folded := self._tracker.take_folded():
            log.warning("accounts.capped", accounts=folded, counted_as="other",
                        hint="raise max_accounts to track them by name")
        group = transition.job.group
        self.check_thresholds((group[3], group[2]))
        return 1

    def _size_later(self, job_id: str, resource_arn: str | None) -> None:
        """Look the table's size up in the background: the message is handled (and deleted)
        without waiting on DescribeTable; the size and the level follow when it answers."""
        task = asyncio.get_running_loop().create_task(self._apply_size(job_id, resource_arn))
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    async def _apply_size(self, job_id: str, resource_arn: str | None) -> None:
        # The lookup starts after the rest of its batch was applied: a job that finished
        # there, or got its size from a later event, needs no DescribeTable.
        if not self._tracker.wants_size(job_id):
            return
        size = await self._sizes.size_of(resource_arn)
        job = self._tracker.get(job_id)
        if size and job is not None and self._tracker.set_size(job_id, size):
            self.check_thresholds((job.group[3], job.group[2]))

    async def settle(self) -> None:
        """Wait for the size lookups in flight (reconcile passes, shutdown, tests)."""
        # Only the tasks not done yet: a finished task leaves the set by a callback that runs
        # on a later loop turn, and awaiting a gather of finished tasks does not yield (an
        # eager completion since Python 3.12): looping on it would spin the loop forever.
        while pending := [task for task in self._lookups if not task.done()]:
            await asyncio.wait(pending)

    def _after(self, event: JobEvent, transition: Transition) -> None:
        if not transition.finished:
            return
        job = transition.job
        if event.kind == "backup_job":
            self._metrics.job_finished(job.state, job.resource_type or "unknown")
        if job.state in FAILED_STATES:
            self._alerts.submit(failure_alert(event, job))
        elif job.state == "COMPLETED" and event.kind == "backup_job" and event.recovery_point_arn:
            self._bus.publish(BackupCompleted(
                recovery_point_arn=event.recovery_point_arn,
                resource_arn=event.resource_arn or "", resource_type=event.resource_type or "",
                created=event.creation_date or event.time, origin="event", vault=event.vault,
                job_id=event.job_id, region=event.region, size_bytes=job.size_bytes))

    def check_thresholds(self, scope: ScopeKey | None = None) -> None:
        """Re-evaluate the level of running bytes of one (account, region) after a change,
        or of every one (on the watch's tick)."""
        now = self._clock.now()
        for key in [scope] if scope is not None else list(self._tracker.scope_totals()):
            self._check(key, now)

    def _check(self, key: ScopeKey, now: datetime) -> None:
        limits = self._limits
        account, region = key
        limit = limits.table.limit(account, region)
        total = self._tracker.scope_total(key).bytes
        state, change = evaluate(
            self._levels.get(key, _OK), total, limit=limit, warning_ratio=limits.warning_ratio,
            critical_ratio=limits.critical_ratio, cooldown_seconds=limits.cooldown_seconds,
            now=now)
        self._levels[key] = state
        if change is not None:
            log.warning("threshold.level_changed", level=state.level, account=account,
                        region=region, running_bytes=total, limit_bytes=limit)
            self._alerts.submit(level_alert(change, total=total, limit=limit, account=account,
                                            region=region))


class ThresholdWatch:
    """Re-checks the level every second, so a level clears after its cooldown even when no
    event arrives to trigger the check."""

    name = "thresholds"

    def __init__(self, pipeline: Pipeline, interval_seconds: float = 1.0) -> None:
        self._pipeline = pipeline
        self._interval = interval_seconds

    async def run(self, stop: asyncio.Event) -> None:
        while not await sleep_or_stop(self._interval, stop):
            self._pipeline.check_thresholds()
