"""One message through the pipeline: decode -> tracker -> sizes -> thresholds -> alerts -> bus.

The decisions are the pure core's (decode, JobTable.apply, thresholds); this module only
sequences them, looks up missing sizes, and writes the one canonical log line per message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal, Protocol

import structlog

from daemon.config.settings import Settings
from daemon.core.clock import Clock
from daemon.core.errors import DecodeError
from daemon.core.events.decode import FAILED_STATES, OPEN_STATES, JobEvent, decode
from daemon.core.events.thresholds import ThresholdState, evaluate, failure_alert, level_alert
from daemon.core.events.tracker import JobTable, Transition
from daemon.events.sizes import table_name
from daemon.kernel.bus import BackupCompleted, CompletionBus
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.supervisor import sleep_or_stop
from daemon.obs.metrics import EventMetrics

log = structlog.get_logger(__name__)
Outcome = Literal["handled", "ignored", "poison", "retry"]


class Sizes(Protocol):
    """Where a job without a size in its event gets one (`SizeResolver`)."""

    async def size_of(self, resource_arn: str | None) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Limits:
    """The threshold policy: the limit of running bytes, its two levels, the cooldown."""

    limit_bytes: int
    warning_ratio: float
    critical_ratio: float
    cooldown_seconds: float

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.limit_bytes, settings.warning_ratio, settings.critical_ratio,
                   settings.alert_cooldown_seconds)


class Pipeline:
    """Applies decoded events to the tracker and acts on what changed."""

    def __init__(self, tracker: JobTable, sizes: Sizes, limits: Limits, *,
                 metrics: EventMetrics, alerts: AlertOutbox, bus: CompletionBus,
                 clock: Clock) -> None:
        self._tracker = tracker
        self._sizes = sizes
        self._limits = limits
        self._metrics = metrics
        self._alerts = alerts
        self._bus = bus
        self._clock = clock
        self._lookups: set[asyncio.Task[None]] = set()
        self.thresholds = ThresholdState()

    def thresholds_view(self) -> int:
        """The current level (0 ok, 1 warning, 2 critical), read at scrape time."""
        return self.thresholds.level

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
        if event.kind == "ignored":
            events.message("ignored", "ignored")
            log.info("message.ignored", reason=event.reason, outcome="ignored")
            return "ignored"
        try:
            await self.apply(event, origin="event")
        except Exception as exc:
            events.message(event.kind, "retry")
            log.exception("message.failed", job_id=event.job_id, error=str(exc), outcome="retry")
            return "retry"
        events.message(event.kind, "handled")
        return "handled"

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
        self.check_thresholds()
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
        if size and self._tracker.set_size(job_id, size):
            self.check_thresholds()

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

    def check_thresholds(self) -> None:
        """Re-evaluate the level of running bytes (after each change, and on a tick)."""
        limits = self._limits
        total = self._tracker.running_bytes_total()
        self.thresholds, change = evaluate(
            self.thresholds, total, limit=limits.limit_bytes, warning_ratio=limits.warning_ratio,
            critical_ratio=limits.critical_ratio, cooldown_seconds=limits.cooldown_seconds,
            now=self._clock.now())
        if change is not None:
            log.warning("threshold.level_changed", level=self.thresholds.level,
                        running_bytes=total, limit_bytes=limits.limit_bytes)
            self._alerts.submit(level_alert(change, total=total, limit=limits.limit_bytes))


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
