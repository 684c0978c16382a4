"""Admission control: backups wait while the bytes backing up would pass the budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.core.scheduling.admission import AdmissionQueue, Pending

NOW = datetime(2026, 11, 24, 5, tzinfo=UTC)
GIB = 2**30


def pending(table: str, gib: int, deadline_minutes: int = 60) -> Pending:
    return Pending("daily", table, NOW, gib * GIB, NOW + timedelta(minutes=deadline_minutes))


def started(queue: AdmissionQueue, running_gib: int, now: datetime = NOW) -> list[str]:
    return [p.table for p in queue.admit(running_gib * GIB, now).start]


def test_backups_that_fit_start_at_once() -> None:
    queue = AdmissionQueue(budget_bytes=100 * GIB)
    queue.offer(pending("a", 10))
    queue.offer(pending("b", 20))
    assert sorted(started(queue, 0)) == ["a", "b"]
    assert len(queue) == 0


def test_a_backup_waits_while_running_bytes_plus_its_size_pass_the_budget() -> None:
    queue = AdmissionQueue(budget_bytes=100 * GIB)
    queue.offer(pending("big", 40))
    first = queue.admit(70 * GIB, NOW)
    assert first.start == []
    assert [p.table for p in first.newly_deferred] == ["big"]
    again = queue.admit(70 * GIB, NOW + timedelta(minutes=1))
    assert again.newly_deferred == []  # deferred is counted once per backup
    assert started(queue, 50, NOW + timedelta(minutes=2)) == ["big"]


def test_largest_first_starts_the_biggest_that_fits_then_fills_the_room() -> None:
    queue = AdmissionQueue(budget_bytes=100 * GIB, order="largest-first")
    for table, gib in [("s", 10), ("l", 60), ("m", 30), ("xl", 80)]:
        queue.offer(pending(table, gib))
    assert started(queue, 0) == ["xl", "s"]
    assert started(queue, 90) == []
    assert started(queue, 0) == ["l", "m"]


def test_fifo_starts_in_arrival_order() -> None:
    queue = AdmissionQueue(budget_bytes=100 * GIB, order="fifo")
    for table, gib in [("first", 50), ("second", 40), ("third", 30)]:
        queue.offer(pending(table, gib))
    assert started(queue, 0) == ["first", "second"]
    assert started(queue, 0) == ["third"]


def test_a_backup_still_waiting_past_its_window_expires() -> None:
    queue = AdmissionQueue(budget_bytes=100 * GIB)
    queue.offer(pending("late", 90, deadline_minutes=10))
    assert queue.admit(50 * GIB, NOW).start == []
    outcome = queue.admit(50 * GIB, NOW + timedelta(minutes=11))
    assert [p.table for p in outcome.expired] == ["late"]
    assert len(queue) == 0


def test_a_table_larger_than_the_whole_budget_starts_alone_when_nothing_runs() -> None:
    queue = AdmissionQueue(budget_bytes=100 * GIB, order="fifo")
    queue.offer(pending("huge", 500))
    queue.offer(pending("small", 1))
    assert started(queue, 1) == ["small"]
    outcome = queue.admit(0, NOW)
    assert [p.table for p in outcome.start] == ["huge"]
    assert [p.table for p in outcome.oversized] == ["huge"]


def test_offering_the_same_backup_twice_keeps_one_entry() -> None:
    queue = AdmissionQueue(budget_bytes=GIB)
    queue.offer(pending("a", 5))
    queue.offer(pending("a", 5))
    assert len(queue) == 1
    assert queue.contains("daily", "a", NOW)
    queue.discard("daily", "a", NOW)
    assert len(queue) == 0
