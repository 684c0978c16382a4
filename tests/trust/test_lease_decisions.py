"""The pure lease decisions: tables of single steps, and a simulated election that must never
let two replicas lead at once, whatever order their reads, writes, failures and pauses take."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.ha.lease import (
    Action,
    LeaseRecord,
    Observation,
    decide,
    fence_at,
    holder_identity,
    next_record,
    observe,
    step_down_at,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def record(holder: str, version: str = "v1", lease: float = 15.0) -> LeaseRecord:
    return LeaseRecord(holder, version, lease, T0, T0)


@pytest.mark.parametrize(("rec", "first_seen", "now", "action"), [
    (None, 0.0, 0.0, Action.CREATE),
    (record("me"), 0.0, 0.0, Action.RENEW),
    (record(""), 0.0, 0.0, Action.TAKEOVER),
    (record("other"), 0.0, 14.9, Action.WAIT),
    (record("other"), 0.0, 15.0, Action.TAKEOVER),
    (record("other", lease=30.0), 0.0, 20.0, Action.WAIT),
    (record("other"), 5.0, 19.0, Action.WAIT),
])
def test_decide_takes_only_free_expired_or_own_leases(
        rec: LeaseRecord | None, first_seen: float, now: float, action: Action) -> None:
    assert decide("me", Observation(rec, first_seen), now).action is action


def test_decide_expects_the_version_it_saw() -> None:
    decision = decide("me", Observation(record("other", "abc"), 0.0), 20.0)
    assert decision.expected_version == "abc"


def test_a_waiting_follower_knows_when_the_lease_would_expire() -> None:
    assert decide("me", Observation(record("other"), 3.0), 4.0).wait_until == 18.0


def test_observe_keeps_the_first_sighting_of_an_unchanged_write() -> None:
    seen = observe(None, record("a", "v1"), 1.0)
    assert observe(seen, record("a", "v1"), 9.0).first_seen == 1.0


@pytest.mark.parametrize("changed", [record("a", "v2"), record("b", "v1"), None])
def test_observe_restarts_the_clock_on_any_new_write(changed: LeaseRecord | None) -> None:
    seen = observe(None, record("a", "v1"), 1.0)
    assert observe(seen, changed, 9.0).first_seen == 9.0


def test_a_renewal_keeps_acquisition_time_and_transitions() -> None:
    later = datetime(2026, 1, 2, tzinfo=UTC)
    mine = LeaseRecord("me", "v1", 15.0, T0, T0, transitions=3)
    renewed = next_record("me", mine, version="v2", lease_seconds=15.0, now=later)
    assert (renewed.acquired_at, renewed.renewed_at, renewed.transitions) == (T0, later, 3)


def test_a_takeover_counts_one_more_transition() -> None:
    theirs = LeaseRecord("other", "v1", 15.0, T0, T0, transitions=3)
    assert next_record("me", theirs, version="v2", lease_seconds=15.0, now=T0).transitions == 4


def test_the_fence_falls_after_the_step_down() -> None:
    assert step_down_at(100.0, 10.0) < fence_at(100.0, 15.0)


@pytest.mark.parametrize(("base", "expected"), [
    ("backupd-7f9c-abcde", "backupd-7f9c-abcde-x"),
    ("host name/with:odd", "host-name-with:odd-x"),
    ("  ", "ddb-backupd-x"),
])
def test_identity_is_the_pod_name_made_safe_plus_a_suffix(base: str, expected: str) -> None:
    assert holder_identity(base, "x") == expected


# --- a simulated election -------------------------------------------------------------------
RENEW, DEADLINE, LEASE = 5.0, 10.0, 15.0


@dataclass
class Replica:
    """One replica as the gate runs it, on a shared simulated monotonic clock."""

    name: str
    seen: Observation | None = None
    mine: LeaseRecord | None = None  # confirmed write while leading
    confirmed_at: float = 0.0
    since: float | None = None  # when it started leading
    up: bool = True  # False: every call of this replica fails (partition, AWS errors)
    busy_until: float = 0.0  # a deposed leader waits for its work to stop before following


@dataclass
class World:
    """The lease item (DynamoDB serialises conditional writes) and every leading interval."""

    item: LeaseRecord | None = None
    now: float = 0.0
    versions: int = 0
    intervals: list[tuple[str, float, float]] = field(default_factory=list)

    def version(self) -> str:
        self.versions += 1
        return f"v{self.versions}"

    def end_leading(self, r: Replica, at: float) -> None:
        assert r.since is not None
        self.intervals.append((r.name, r.since, at))
        r.since, r.mine = None, None

    def step(self, r: Replica, latency: float) -> None:
        """One tick of a replica: a leader renews (or fences), a follower tries to acquire."""
        if self.now < r.busy_until:
            return
        if r.since is not None:
            self._lead_step(r, latency)
        else:
            self._follow_step(r, latency)

    def _lead_step(self, r: Replica, latency: float) -> None:
        assert r.mine is not None
        if self.now >= step_down_at(r.confirmed_at, DEADLINE):  # its timer fired: fence
            r.busy_until = fence_at(r.confirmed_at, LEASE) - 1.0
            self.end_leading(r, r.busy_until)
            return
        if not r.up:
            return
        started = self.now - latency  # the write began earlier than it landed
        if self.item is not None and self.item.same_write(r.mine):
            new = next_record(r.name, r.mine, version=self.version(), lease_seconds=LEASE,
                              now=T0)
            self.item, r.mine, r.confirmed_at = new, new, started
        else:  # taken: stop at once
            self.end_leading(r, self.now)

    def _follow_step(self, r: Replica, latency: float) -> None:
        if not r.up:
            return
        r.seen = observe(r.seen, self.item, self.now)
        decision = decide(r.name, r.seen, self.now)
        if decision.action is Action.WAIT:
            return
        current = self.item
        expected = decision.expected_version
        if (current is None and expected is None) or (
                current is not None and current.version == expected):
            new = next_record(r.name, current, version=self.version(), lease_seconds=LEASE,
                              now=T0)
            self.item, r.mine, r.confirmed_at = new, new, self.now - latency
            r.since = self.now


steps = st.lists(st.tuples(
    st.integers(0, 2),  # which replica acts
    st.sampled_from(["step", "step", "step", "fail", "heal", "pause"]),
    st.floats(0.0, 6.0),  # time passing before it acts
    st.floats(0.0, 2.0),  # latency of its write
), min_size=1, max_size=200)


def overlapping(intervals: list[tuple[str, float, float]]) -> list[tuple[object, object]]:
    ordered = sorted(intervals, key=lambda i: i[1])
    return [(a, b) for a, b in itertools.pairwise(ordered) if b[1] < a[2]]


@settings(max_examples=400, deadline=None)
@given(steps)
def test_no_two_replicas_ever_lead_at_once(plan: list[tuple[int, str, float, float]]) -> None:
    """Leading intervals, each ending no later than its fence, never overlap."""
    world = World()
    replicas = [Replica(f"r{i}") for i in range(3)]
    for index, op, dt, latency in plan:
        world.now += dt
        r = replicas[index]
        if op == "fail":
            r.up = False
        elif op == "heal":
            r.up = True
        elif op == "pause":  # a stop-the-world pause: nothing but the clock moves
            world.now += LEASE
        world.step(r, min(latency, dt))
    for r in replicas:  # its own timers stop a leader by its fence even if never ticked again
        if r.since is not None:
            world.end_leading(r, min(world.now, fence_at(r.confirmed_at, LEASE) - 1.0))
    assert overlapping(world.intervals) == []
