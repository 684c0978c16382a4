"""The background task runner for restores and exports: bounded per kind, visible, cancellable.

A task is one restore or one export, keyed by what makes it unique in AWS (the restored
table's name, the export token), so a trigger that arrives twice while the first is still
queued or running is a no-op. Slots are bounded per kind (DynamoDB allows about 50
concurrent restores per account, RDS 5 concurrent exports); beyond them tasks queue, and
beyond `queue_limit` they are dropped and found again by the next rescan.

In-memory state is lost on restart by design: on shutdown tasks are cancelled, not
drained (a restore can take hours), and the services rediscover the unfinished ones from
AWS (tags on restored tables, export markers, restore jobs) when they start again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import structlog

from daemon.config.tasks import TaskSettings
from daemon.core.alerts import Alert
from daemon.core.clock import Clock
from daemon.core.errors import PermanentError
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status_model import MAX_QUEUED_TASKS
from daemon.kernel.supervisor import sleep_or_stop
from daemon.obs.metrics_tasks import TaskMetrics

log = structlog.get_logger(__name__)
Kind = Literal["restore", "export"]
State = Literal["queued", "running", "succeeded", "failed", "cancelled", "skipped"]


class Stopping(Exception):  # noqa: N818 - a signal, not an error
    """The runner is shutting down; the task ends here and is rediscovered from AWS later."""


class RetryLater(Exception):  # noqa: N818 - a signal, not an error
    """The task cannot run now for a reason reported elsewhere (a member account whose role
    cannot be assumed: the sessions alert once): it ends `failed` with this message, without
    an alert of its own, and is queued again after `seconds`."""

    def __init__(self, message: str, seconds: float) -> None:
        super().__init__(message)
        self.seconds = seconds


@dataclass
class Task:
    """One task as /status shows it. `phase` is set by the task body as it goes."""

    key: str
    kind: Kind
    rule: str
    subject: str
    queued_at: datetime
    state: State = "queued"
    phase: str = "queued"
    detail: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def view(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "rule": self.rule, "subject": self.subject,
                "state": self.state, "phase": self.phase, "detail": self.detail,
                "queued_at": self.queued_at, "started_at": self.started_at,
                "finished_at": self.finished_at, "facts": dict(self.facts)}


Body = Callable[[Task], Awaitable[State]]


class TaskRunner:
    """Runs task bodies under per-kind semaphores; `run(stop)` is its life as a component."""

    name = "tasks"

    def __init__(self, cfg: TaskSettings, *, clock: Clock, metrics: TaskMetrics,
                 alerts: AlertOutbox) -> None:
        s = self._cfg = cfg
        self._clock = clock
        self._metrics = metrics
        self._alerts = alerts
        self._slots: dict[Kind, int] = {"restore": s.restore_concurrency,
                                        "export": s.export_concurrency}
        self._limits = {kind: asyncio.Semaphore(n) for kind, n in self._slots.items()}
        self._active: dict[str, tuple[Task, asyncio.Task[None]]] = {}
        self.recent: deque[Task] = deque(maxlen=s.recent_limit)
        self.stop = asyncio.Event()
        self._accepting = asyncio.Event()
        self.listeners: list[Callable[[Task], None]] = []
        self._retries: set[asyncio.TimerHandle] = set()

    def submit(self, key: str, kind: Kind, rule: str, subject: str, body: Body) -> bool:
        """Queue a task unless one with this key is active; False when not accepted."""
        if not self.accepting or key in self._active:
            return False
        if self._waiting(kind) >= self._cfg.queue_limit:
            log.warning("task.dropped", kind=kind, rule=rule, subject=subject, reason="queue full")
            return False
        task = Task(key, kind, rule, subject, self._clock.now())
        runner = asyncio.get_running_loop().create_task(self._guarded(task, body),
                                                        name=f"task:{kind}:{key}")
        self._active[key] = (task, runner)
        runner.add_done_callback(lambda _: self._forget(key, runner))
        self._gauges(kind)
        return True

    def _forget(self, key: str, runner: asyncio.Task[None]) -> None:
        """A task cancelled before its first step never reaches `_finish`: free its key."""
        entry = self._active.get(key)
        if entry is not None and entry[1] is runner:
            del self._active[key]
            self._gauges(entry[0].kind)

    @property
    def accepting(self) -> bool:
        """True while the runner runs (on the leader): triggers are only taken then."""
        return self._accepting.is_set()

    async def wait_accepting(self, stop: asyncio.Event) -> bool:
        """Wait until the runner accepts tasks; False if `stop` came first."""
        if not self.accepting:
            waiter = asyncio.ensure_future(self._accepting.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()
        return self.accepting and not stop.is_set()

    def set_phase(self, task: Task, phase: str, **facts: Any) -> None:
        """Record a task's progress (shown on /status; listeners see every change)."""
        task.phase = phase
        task.facts.update(facts)
        log.info("task.phase", kind=task.kind, rule=task.rule, subject=task.subject, phase=phase)
        for listener in self.listeners:
            listener(task)

    def cancel(self, key: str) -> bool:
        """Cancel one task (it ends `cancelled`; AWS keeps its state for the next rescan)."""
        entry = self._active.get(key)
        if entry is None:
            return False
        entry[1].cancel()
        return True

    async def pause(self, seconds: float) -> None:
        """Wait between polls; raises Stopping as soon as the runner is told to stop."""
        if await sleep_or_stop(seconds, self.stop):
            raise Stopping

    async def poll(self, check: Callable[[], Awaitable[bool]], *, within: float,
                   what: str) -> None:
        """Call `check` until True, waiting longer each time; PermanentError after `within` s."""
        s = self._cfg
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        delay = s.poll_initial_seconds
        while not await check():
            if loop.time() + delay > deadline:
                raise PermanentError(f"{what}: not done after {within:.0f} s")
            await self.pause(delay)
            delay = min(delay * 2, s.poll_max_seconds)

    async def run(self, stop: asyncio.Event) -> None:
        """Accept tasks until `stop`; then cancel what is left without losing track of it."""
        self.stop.clear()
        self._accepting.set()
        try:
            await stop.wait()
        finally:
            await self.shutdown()

    async def shutdown(self) -> None:
        """Stop intake, cancel every task, and log one summary line."""
        self._accepting.clear()
        self.stop.set()
        for handle in self._retries:
            handle.cancel()
        self._retries.clear()
        left = [runner for _, runner in self._active.values()]
        for runner in left:
            runner.cancel()
        if left:
            await asyncio.gather(*left, return_exceptions=True)
        log.info("tasks.stopped", cancelled=len(left), recent=len(self.recent),
                 note="unfinished tasks are rediscovered from AWS at the next start")

    async def drain(self) -> None:
        """Wait until no task is active (tests, and the demo's end)."""
        while pending := [r for _, r in list(self._active.values()) if not r.done()]:
            await asyncio.wait(pending)

    def status(self) -> Mapping[str, Any]:
        """The `/status` section: running tasks, the first waiting ones, the recent ones."""
        active = [t for t, _ in self._active.values()]
        queued = [t.view() for t in active if t.state == "queued"]
        return {"running": [t.view() for t in active if t.state == "running"],
                "queued": queued[:MAX_QUEUED_TASKS], "queued_total": len(queued),
                "recent": [t.view() for t in reversed(self.recent)]}

    async def _guarded(self, task: Task, body: Body) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        outcome: State = "failed"
        retry: float | None = None
        try:
            async with self._limits[task.kind]:
                started = loop.time()
                task.state, task.started_at = "running", self._clock.now()
                self._gauges(task.kind)
                with structlog.contextvars.bound_contextvars(
                        task=task.kind, rule=task.rule, subject=task.subject):
                    outcome = await body(task)
        except (asyncio.CancelledError, Stopping):
            outcome = "cancelled"
        except RetryLater as exc:
            task.detail, retry = str(exc), exc.seconds
            log.warning("task.retrying", kind=task.kind, rule=task.rule, subject=task.subject,
                        error=task.detail, retry_seconds=retry)
        except Exception as exc:
            self._failed(task, exc)
        finally:
            self._finish(task, outcome, loop.time() - started)
        if retry is not None and self.accepting:
            self._retry_after(retry, task, body)

    def _retry_after(self, seconds: float, task: Task, body: Body) -> None:
        """Queue the same task body again in `seconds` (unless the runner stopped by then)."""

        def again() -> None:
            self._retries.discard(handle)
            self.submit(task.key, task.kind, task.rule, task.subject, body)

        handle = asyncio.get_running_loop().call_later(seconds, again)
        self._retries.add(handle)

    def _failed(self, task: Task, exc: Exception) -> None:
        task.detail = str(exc) or type(exc).__name__
        if not isinstance(exc, PermanentError):
            log.exception("task.crashed", kind=task.kind, subject=task.subject)
        self._alerts.submit(Alert(
            severity="warning", event=f"{task.kind}_failed",
            subject=f"ddb-backupd: {task.kind} of {task.subject} failed ({task.rule})",
            body={"kind": task.kind, "rule": task.rule, "subject": task.subject,
                  "phase": task.phase, "error": task.detail, **task.facts}))

    def _finish(self, task: Task, outcome: State, seconds: float) -> None:
        task.state, task.finished_at = outcome, self._clock.now()
        self._active.pop(task.key, None)
        self.recent.append(task)
        self._metrics.finished(task.kind, outcome, seconds)
        self._gauges(task.kind)
        log.info("task.finished", kind=task.kind, rule=task.rule, subject=task.subject,
                 outcome=outcome, phase=task.phase, detail=task.detail,
                 duration_seconds=round(seconds, 3))

    def _waiting(self, kind: Kind) -> int:
        """Tasks of `kind` beyond the running slots (just-submitted ones count too)."""
        active = sum(1 for t, _ in self._active.values() if t.kind == kind)
        return max(0, active - self._slots[kind])

    def _count(self, kind: Kind, state: State) -> int:
        return sum(1 for t, _ in self._active.values() if t.kind == kind and t.state == state)

    def _gauges(self, kind: Kind) -> None:
        self._metrics.running(kind, self._count(kind, "running"))
        self._metrics.queued(kind, self._count(kind, "queued"))

