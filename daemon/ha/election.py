"""The lease protocol of one replica: follow, acquire, renew, release (client-go's algorithm).

The decisions are pure (`daemon.core.ha.lease`); this module only performs them against the
lease item and keeps the two facts fencing needs: our last confirmed write, and when (on
our monotonic clock) we started it. Every call is bounded in time, so a hung request can
never hold up the election.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Awaitable

import structlog

from daemon.config.leader import LeaderSettings
from daemon.core.clock import Clock
from daemon.core.ha.lease import Action, LeaseRecord, Observation, decide, next_record, observe
from daemon.ha.lease_table import LeaseTable
from daemon.kernel.supervisor import sleep_or_stop
from daemon.obs.metrics_leader import LeaderMetrics

log = structlog.get_logger(__name__)


class Elector:
    """One replica's side of the lease: what it last saw, and what it last wrote."""

    def __init__(self, settings: LeaderSettings, table: LeaseTable, metrics: LeaderMetrics,
                 clock: Clock, identity: str) -> None:
        self._s = settings
        self.table = table
        self._metrics = metrics
        self._clock = clock
        self.identity = identity
        self.record: LeaseRecord | None = None  # our last confirmed write while we hold it
        self.confirmed_at = 0.0  # monotonic start of that write
        self.seen: Observation | None = None

    def holder(self) -> str | None:
        """Who held the lease when we last looked (None: nobody, or never looked)."""
        return self.seen.record.holder if self.seen and self.seen.record else None

    async def follow(self, stop: asyncio.Event) -> bool:
        """Watch the lease until this replica holds it (True) or `stop` is set (False)."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            # twice per renewal: a follower notices a dead leader's last write at most half a
            # period late, so a failover takes at most lease_seconds + renew_seconds * 0.6
            wait = self._s.renew_seconds / 2 * random.uniform(1.0, 1.2)  # noqa: S311 - jitter
            try:
                if await self.try_acquire():
                    return True
            except Exception as exc:
                log.warning("leader.lease_read_failed", error=str(exc) or type(exc).__name__)
            seen = self.seen
            if seen and seen.record and seen.record.holder:
                expires = seen.first_seen + seen.record.lease_seconds
                wait = min(wait, max(0.05, expires - loop.time()))
            if await sleep_or_stop(wait, stop):
                break
        return False

    async def try_acquire(self) -> bool:
        """One follower step: read the lease, and take it if it is free, expired or ours."""
        loop = asyncio.get_running_loop()
        record = await self._bounded(self.table.read())
        self.seen = observe(self.seen, record, loop.time())
        decision = decide(self.identity, self.seen, loop.time())
        if decision.action is Action.WAIT:
            return False
        new = self._next(record)
        started = loop.time()
        if decision.action is Action.RENEW:
            assert decision.expected_version is not None
            won = await self._bounded(self.table.renew(new, decision.expected_version))
        else:
            won = await self._bounded(self.table.put(new, decision.expected_version))
        self._metrics.lease_write("ok" if won else "conflict")
        if won:
            self.record, self.confirmed_at = new, started
            log.info("leader.acquired", identity=self.identity, action=decision.action.value,
                     previous=record.holder if record else None, transitions=new.transitions)
        return won

    async def renew_once(self, deadline: float) -> str:
        """One renewal, bounded by the step-down deadline: 'ok', 'error' or 'taken'."""
        assert self.record is not None, "renew only while holding the lease"
        loop = asyncio.get_running_loop()
        new = self._next(self.record)
        started = loop.time()
        try:
            async with asyncio.timeout(max(0.1, deadline - started)):
                won = await self._renew_or_adopt(new)
        except Exception as exc:
            self._metrics.lease_write("error")
            log.warning("leader.renew_failed", error=str(exc) or type(exc).__name__,
                        seconds_to_step_down=round(deadline - loop.time(), 2))
            return "error"
        self._metrics.lease_write("ok" if won else "conflict")
        if not won:
            return "taken"
        self.record, self.confirmed_at = new, started
        return "ok"

    async def _renew_or_adopt(self, new: LeaseRecord) -> bool:
        """Renew; on conflict, a record still naming us is our own earlier write that landed
        unseen (a timed-out call), so adopt its version and renew once more."""
        assert self.record is not None
        if await self.table.renew(new, self.record.version):
            return True
        current = await self.table.read()
        if current is None or current.holder != self.identity:
            return False
        self.record = current
        return await self.table.renew(new, current.version)

    async def release(self) -> None:
        """Delete our lease item (bounded) so a follower need not wait for it to expire."""
        if self.record is None:
            return
        version, self.record = self.record.version, None
        try:
            released = await self._bounded(self.table.release(self.identity, version))
        except Exception as exc:
            log.warning("leader.release_failed", error=str(exc) or type(exc).__name__)
            return
        self._metrics.transition("released")
        log.info("leader.released", identity=self.identity, released=released)

    def _next(self, previous: LeaseRecord | None) -> LeaseRecord:
        return next_record(self.identity, previous, version=secrets.token_hex(8),
                           lease_seconds=self._s.lease_seconds, now=self._clock.now())

    async def _bounded[T](self, call: Awaitable[T]) -> T:
        """One lease call, bounded by a renewal period."""
        async with asyncio.timeout(self._s.renew_seconds):
            return await call

