"""The leader gate: runs the leader-only components while, and only while, this replica leads.

Follow: watch the lease and take it when it is free or has stood unchanged for its
`lease_seconds` (`election.Elector`). Lead: reconcile from AWS first, then supervise the
leader components while renewing every `renew_seconds`. Fencing: a leader that has not
renewed for `renew_deadline_seconds` stops them and cancels whatever has not returned before
the lease could expire for anyone else; a leader that finds the lease taken cancels at once.
On shutdown the components drain while the lease is still renewed, then the lease is
released so a follower takes over without waiting for it to expire.
With election off, the gate simply runs the components: this replica is the leader.
"""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Sequence
from typing import Any

import structlog

from daemon.config.leader import LeaderSettings
from daemon.core.clock import Clock, SystemClock
from daemon.core.errors import PermanentError
from daemon.core.ha.lease import fence_at, holder_identity, step_down_at
from daemon.ha.election import Elector
from daemon.ha.lease_table import LeaseTable
from daemon.kernel.kernel import Leadership, OnAcquire
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import Component, backoff_delay, sleep_or_stop, supervise
from daemon.obs.metrics_leader import LeaderMetrics

log = structlog.get_logger(__name__)
FENCE_SAFETY_SECONDS = 1.0


def resolve_identity(configured: str | None) -> str:
    """The configured name (settings default it to the pod's or the host's) plus a random
    suffix: unique per process, readable."""
    return holder_identity(configured or socket.gethostname(), secrets.token_hex(4))


class LeaderGate:
    """A component that runs `components` only while this replica holds the lease."""

    name = "leader"

    def __init__(self, settings: LeaderSettings, table: LeaseTable, metrics: LeaderMetrics,
                 board: StatusBoard, components: Sequence[Component], *, identity: str,
                 leadership: Leadership | None = None, on_acquire: OnAcquire | None = None,
                 clock: Clock | None = None) -> None:
        self._s = settings
        self._metrics = metrics
        self._board = board
        self._components = list(components)
        self._on_acquire = on_acquire
        self.elector = Elector(settings, table, metrics, clock or SystemClock(), identity)
        self._leadership = leadership or Leadership()
        board.add("leader", self.status)

    def is_leader(self) -> bool:
        """True while this replica leads (always, when election is off): gates job gauges."""
        return self._leadership.is_leader()

    def status(self) -> dict[str, Any]:
        """The `/status` section: whether we lead, who does, and who we are."""
        leading = self.is_leader()
        holder = self.elector.identity if leading else self.elector.holder()
        return {"leader": leading, "enabled": self._s.enabled,
                "identity": self.elector.identity, "holder": holder}

    async def run(self, stop: asyncio.Event) -> None:
        if not self._s.enabled:
            self._set_leading(True)
            try:
                await self._work(stop)
            finally:
                self._set_leading(False)
            return
        self._forget_component_health()  # a follower is ready without its leader's parts
        if not await self._ensure_table(stop):
            return
        while not stop.is_set():
            if not await self.elector.follow(stop):
                return
            await self._lead(stop)

    async def _ensure_table(self, stop: asyncio.Event) -> bool:
        """Check (or create) the lease table; not ready, and retrying, while it is unusable."""
        table = self.elector.table
        attempt = 0
        while not stop.is_set():
            try:
                await table.ensure(create=self._s.create_table)
            except PermanentError as exc:
                self._board.set_health(self.name, False, str(exc))
                log.error("leader.table_unusable", table=table.table, error=str(exc))  # noqa: TRY400 - the message is the whole story
                delay = self._s.lease_seconds
            except Exception as exc:
                attempt += 1
                self._board.set_health(self.name, False, f"lease table unreachable: {exc}")
                log.warning("leader.table_check_failed", table=table.table, error=str(exc))
                delay = backoff_delay(attempt, cap=self._s.lease_seconds)
            else:
                self._board.set_health(self.name, True)
                return True
            if await sleep_or_stop(delay, stop):
                break
        return False

    async def _lead(self, stop: asyncio.Event) -> None:
        """Lead until stopped or deposed; the leader components never outlive the lease."""
        self._set_leading(True)
        self._metrics.transition("acquired")
        work_stop = asyncio.Event()
        work = asyncio.create_task(self._work(work_stop), name="leader-work")
        try:
            reason = await self._keep_lease(stop, work, work_stop)
        except asyncio.CancelledError:  # cancelled from outside: leave nothing running
            await self._fence(work, work_stop, immediate=True)
            await self.elector.release()
            raise
        await self._fence(work, work_stop, immediate=reason == "taken")
        if reason in ("stop", "work_ended"):
            await self.elector.release()
        else:
            self._metrics.transition("lost")
            log.warning("leader.lost", identity=self.elector.identity, reason=reason)
            self.elector.record = None

    async def _work(self, stop: asyncio.Event) -> None:
        """Reconcile from AWS first (bounded tries), then supervise the leader components."""
        for attempt in range(1, self._s.takeover_reconcile_attempts + 1):
            if self._on_acquire is None or stop.is_set():
                break
            try:
                await self._on_acquire()
                break
            except Exception as exc:
                log.warning("leader.reconcile_failed", attempt=attempt, error=str(exc))
                if await sleep_or_stop(backoff_delay(attempt, cap=self._s.renew_seconds), stop):
                    return
        await supervise(self._components, stop)

    async def _keep_lease(self, stop: asyncio.Event, work: asyncio.Task[None],
                          work_stop: asyncio.Event) -> str:
        """Renew every `renew_seconds`; return why leading ended: stop, taken, deadline, ..."""
        loop = asyncio.get_running_loop()
        elector = self.elector
        next_try = elector.confirmed_at + self._s.renew_seconds
        while True:
            if stop.is_set():
                work_stop.set()  # drain under a live lease; release once the work is done
            if work.done():
                return "stop" if stop.is_set() else "work_ended"
            await self._wait(work, None if work_stop.is_set() else stop, next_try - loop.time())
            if work.done() or (stop.is_set() and not work_stop.is_set()):
                continue
            deadline = step_down_at(elector.confirmed_at, self._s.renew_deadline_seconds)
            outcome = await elector.renew_once(deadline)
            if outcome == "taken":
                return "taken"
            if outcome == "ok":
                next_try = elector.confirmed_at + self._s.renew_seconds
            elif loop.time() >= deadline:
                return "deadline"
            else:  # retry sooner than a renewal period, never past the deadline
                next_try = min(deadline, loop.time() + self._s.renew_seconds / 4)

    @staticmethod
    async def _wait(work: asyncio.Task[None], stop: asyncio.Event | None, seconds: float) -> None:
        """Sleep until the next renewal, waking early when the work ends or `stop` is set."""
        waiters: set[asyncio.Future[Any]] = {work}
        stopper = asyncio.ensure_future(stop.wait()) if stop is not None else None
        if stopper is not None:
            waiters.add(stopper)
        try:
            await asyncio.wait(waiters, timeout=max(0.0, seconds),
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            if stopper is not None:
                stopper.cancel()

    async def _fence(self, work: asyncio.Task[None], work_stop: asyncio.Event, *,
                     immediate: bool) -> None:
        """Stop the leader work before anyone else may lead; cancel what does not stop in time."""
        work_stop.set()
        loop = asyncio.get_running_loop()
        limit = fence_at(self.elector.confirmed_at, self._s.lease_seconds) - FENCE_SAFETY_SECONDS
        budget = 0.0 if immediate else max(0.0, limit - loop.time())
        done, _ = await asyncio.wait({work}, timeout=budget) if budget > 0 else (set(), set())
        if not done and not work.done():
            log.warning("leader.fence_cancelled_work", budget_seconds=round(budget, 2))
            work.cancel()
            await asyncio.wait({work})
        self._set_leading(False)
        self._forget_component_health()

    def _forget_component_health(self) -> None:
        """A follower's readiness ignores the components it does not run (they report their
        health again once they run): otherwise no follower would ever be ready."""
        for component in self._components:
            self._board.health.pop(component.name, None)

    def _set_leading(self, leading: bool) -> None:
        self._leadership.set(leading)
        self._metrics.leading(leading)
