"""The leader gate over HTTP: one leader among replicas, fenced, reconciling before it acts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from daemon.aws.session import AwsClients
from daemon.config.leader import LeaderSettings
from daemon.core.ha.lease import LeaseRecord
from daemon.ha.gate import LeaderGate
from daemon.ha.lease_table import LeaseTable
from daemon.kernel.status import StatusBoard
from daemon.obs.metrics import Metrics

pytestmark = pytest.mark.e2e


@dataclass
class Journal:
    """What the replicas' leader-only work did, in order, and whether two ever overlapped."""

    lines: list[tuple[str, str]] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    overlaps: int = 0

    def add(self, who: str, what: str) -> None:
        self.lines.append((who, what))
        if what == "start":
            self.overlaps += bool(self.running)
            self.running.add(who)
        elif what in ("stop", "cancelled"):
            self.running.discard(who)

    def index(self, who: str, what: str) -> int:
        return self.lines.index((who, what))


@dataclass
class Work:
    """A leader-only component that notes when it starts and stops (or ignores stop)."""

    who: str
    journal: Journal
    stubborn: bool = False
    name: str = "work"

    async def run(self, stop: asyncio.Event) -> None:
        self.journal.add(self.who, "start")
        try:
            await (asyncio.Event().wait() if self.stubborn else stop.wait())
        except asyncio.CancelledError:
            self.journal.add(self.who, "cancelled")
            raise
        self.journal.add(self.who, "stop")


class FlakyTable(LeaseTable):
    """The lease table, unreachable while `down` (a partition, or AWS failing)."""

    down = False

    async def read(self) -> LeaseRecord | None:
        self._check()
        return await super().read()

    async def put(self, record: LeaseRecord, expected_version: str | None) -> bool:
        self._check()
        return await super().put(record, expected_version)

    async def renew(self, record: LeaseRecord, expected_version: str) -> bool:
        self._check()
        return await super().renew(record, expected_version)

    async def release(self, holder: str, version: str) -> bool:
        self._check()
        return await super().release(holder, version)

    def _check(self) -> None:
        if self.down:
            raise ConnectionError("lease table unreachable (injected)")


@dataclass
class Replica:
    gate: LeaderGate
    table: FlakyTable
    metrics: Metrics
    board: StatusBoard
    stop: asyncio.Event
    task: asyncio.Task[None] | None = None

    def start(self) -> Replica:
        self.task = asyncio.create_task(self.gate.run(self.stop), name=self.gate.elector.identity)
        return self

    async def halt(self) -> None:
        self.stop.set()
        if self.task is not None:
            await self.task


def replica(clients: AwsClients, settings: LeaderSettings, who: str, journal: Journal, *,
            stubborn: bool = False,
            on_acquire: Callable[[], Awaitable[object]] | None = None) -> Replica:
    metrics, board = Metrics(), StatusBoard()
    table = FlakyTable(clients.dynamodb, settings.table, settings.lease_name)
    gate = LeaderGate(settings, table, metrics.leader, board,
                      [Work(who, journal, stubborn)], identity=who, on_acquire=on_acquire)
    return Replica(gate, table, metrics, board, asyncio.Event())


async def until(condition: Callable[[], bool], seconds: float = 15.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.02)


def leader_value(r: Replica) -> float | None:
    return r.metrics.registry.get_sample_value("backupd_leader")


def transitions(r: Replica, event: str) -> float | None:
    return r.metrics.registry.get_sample_value("backupd_leader_transitions_total",
                                               {"event": event})


async def test_exactly_one_of_two_replicas_leads(clients: AwsClients,
                                                 lease_settings: LeaderSettings) -> None:
    journal = Journal()
    a = replica(clients, lease_settings, "a", journal).start()
    b = replica(clients, lease_settings, "b", journal).start()
    await until(lambda: a.gate.is_leader() or b.gate.is_leader())
    await asyncio.sleep(lease_settings.lease_seconds * 3)  # several renewals and follower checks
    leaders = [r for r in (a, b) if r.gate.is_leader()]
    await a.halt()
    await b.halt()
    assert len(leaders) == 1
    assert journal.overlaps == 0
    assert [leader_value(r) for r in (a, b)] == [0.0, 0.0]  # both stopped now


async def test_status_and_metrics_say_who_leads(clients: AwsClients,
                                                lease_settings: LeaderSettings) -> None:
    journal = Journal()
    a = replica(clients, lease_settings, "a", journal).start()
    await until(a.gate.is_leader)
    b = replica(clients, lease_settings, "b", journal).start()
    await until(lambda: b.gate.elector.holder() == "a")
    status = (a.board.snapshot()["leader"], b.board.snapshot()["leader"])
    values = (leader_value(a), leader_value(b))
    await b.halt()
    await a.halt()
    assert [s["leader"] for s in status] == [True, False]
    assert [s["holder"] for s in status] == ["a", "a"]
    assert values == (1.0, 0.0)


async def test_a_stopped_leader_releases_the_lease_and_the_follower_takes_over(
        clients: AwsClients, lease_settings: LeaderSettings) -> None:
    journal = Journal()
    a = replica(clients, lease_settings, "a", journal).start()
    await until(a.gate.is_leader)
    b = replica(clients, lease_settings, "b", journal).start()
    await a.halt()
    await until(b.gate.is_leader)
    record = await b.table.read()
    await b.halt()
    assert transitions(a, "released") == 1.0
    assert record is not None
    assert record.holder == "b"
    assert journal.index("a", "stop") < journal.index("b", "start")


async def test_a_leader_that_cannot_renew_stops_its_work_before_anyone_takes_over(
        clients: AwsClients, lease_settings: LeaderSettings) -> None:
    journal = Journal()
    a = replica(clients, lease_settings, "a", journal).start()
    await until(a.gate.is_leader)
    b = replica(clients, lease_settings, "b", journal).start()
    a.table.down = True
    await until(b.gate.is_leader)
    await a.halt()
    await b.halt()
    assert journal.index("a", "stop") < journal.index("b", "start")
    assert transitions(a, "lost") == 1.0
    assert journal.overlaps == 0


async def test_work_that_ignores_stop_is_cancelled_by_the_fence(
        clients: AwsClients, lease_settings: LeaderSettings) -> None:
    journal = Journal()
    a = replica(clients, lease_settings, "a", journal, stubborn=True).start()
    await until(a.gate.is_leader)
    b = replica(clients, lease_settings, "b", journal).start()
    a.table.down = True
    await until(b.gate.is_leader)
    await a.halt()
    await b.halt()
    assert journal.index("a", "cancelled") < journal.index("b", "start")


async def test_a_leader_whose_lease_was_taken_stops_at_once(
        clients: AwsClients, lease_settings: LeaderSettings) -> None:
    journal = Journal()
    a = replica(clients, lease_settings, "a", journal, stubborn=True).start()
    await until(a.gate.is_leader)
    current = await a.table.read()
    assert current is not None
    usurper = LeaseRecord("z", "zz", 60.0, current.acquired_at, current.renewed_at)
    assert await a.table.put(usurper, current.version)
    await until(lambda: not a.gate.is_leader())
    await a.halt()
    assert ("a", "cancelled") in journal.lines  # no drain: someone else leads already
    assert transitions(a, "lost") == 1.0


async def test_a_new_leader_reconciles_before_its_work_starts(
        clients: AwsClients, lease_settings: LeaderSettings) -> None:
    journal = Journal()
    calls = 0

    async def reconcile() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("ListBackupJobs failed (injected)")
        journal.add("a", "reconciled")

    a = replica(clients, lease_settings, "a", journal, on_acquire=reconcile).start()
    await until(lambda: ("a", "start") in journal.lines)
    await a.halt()
    assert journal.lines[:2] == [("a", "reconciled"), ("a", "start")]
    assert calls == 2


async def test_a_missing_lease_table_keeps_the_replica_unready_and_says_why(
        clients: AwsClients, lease_settings: LeaderSettings) -> None:
    settings = lease_settings.model_copy(update={"create_table": False, "table": "absent-t"})
    a = replica(clients, settings, "a", Journal()).start()
    await until(lambda: "leader" in a.board.health)
    health = a.board.health["leader"]
    await a.halt()
    assert not health.ready
    assert "'absent-t' does not exist" in (health.detail or "")
    assert not a.gate.is_leader()


async def test_with_election_off_the_work_just_runs(clients: AwsClients) -> None:
    journal = Journal()
    a = replica(clients, LeaderSettings(), "a", journal).start()
    await until(lambda: ("a", "start") in journal.lines)
    leading = (a.gate.is_leader(), leader_value(a))
    await a.halt()
    ddb = await clients.dynamodb()
    tables = (await ddb.list_tables())["TableNames"]
    assert leading == (True, 1.0)
    assert journal.lines == [("a", "start"), ("a", "stop")]
    assert tables == []  # no lease table, no lease traffic
