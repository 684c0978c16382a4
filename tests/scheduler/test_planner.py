"""What is due: backup names, table selection, the spread of starts, missed slots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.scheduling.planner import (
    MAX_MISSED_COUNTED,
    Selector,
    SpreadOrder,
    backup_name,
    due_slot,
    due_tables,
    idempotency_token,
    missed_slots,
    parse_backup_name,
    spread_fraction,
    spread_seconds,
)
from daemon.core.scheduling.schedule import parse_expression

SLOT = datetime(2026, 11, 24, 5, tzinfo=UTC)


def test_backup_names_encode_schedule_and_slot_in_utc() -> None:
    paris_slot = datetime(2026, 11, 24, 6, tzinfo=UTC).astimezone()
    assert backup_name("backupd", "daily", SLOT) == "backupd-daily-202611240500"
    assert backup_name("backupd", "daily", paris_slot) == "backupd-daily-202611240600"


@pytest.mark.parametrize(("name", "expected"), [
    ("backupd-daily-202611240500", SLOT),
    ("backupd-daily-x-202611240500", None),     # schedule "daily-x", not "daily"
    ("backupd-daily-20261124050", None),        # 11 digits
    ("backupd-daily-202613240500", None),       # month 13
    ("other-daily-202611240500", None),         # another prefix: not ours
    ("manual-backup", None),
])
def test_only_this_schedules_names_parse_back_to_a_slot(name: str,
                                                        expected: datetime | None) -> None:
    assert parse_backup_name("backupd", "daily", name) == expected


def test_names_of_schedules_sharing_a_prefix_do_not_collide() -> None:
    name = backup_name("backupd", "daily-x", SLOT)
    assert parse_backup_name("backupd", "daily", name) is None
    assert parse_backup_name("backupd", "daily-x", name) == SLOT


def test_idempotency_tokens_are_stable_per_schedule_table_and_slot() -> None:
    token = idempotency_token("daily", "orders", SLOT)
    assert token == idempotency_token("daily", "orders", SLOT)
    assert token != idempotency_token("daily", "orders", SLOT + timedelta(days=1))
    assert token != idempotency_token("daily", "users", SLOT)


@pytest.mark.parametrize(("selector", "name", "tags", "selected"), [
    (Selector.build(["orders-*"], None, {}, []), "orders-eu", {}, True),
    (Selector.build(["orders-*"], None, {}, []), "users", {}, False),
    (Selector.build(["orders-*", "users"], None, {}, []), "users", {}, True),
    (Selector.build([], r"-prod$", {}, []), "orders-prod", {}, True),
    (Selector.build([], r"-prod$", {}, []), "orders-prod-old", {}, False),
    (Selector.build(["*"], None, {}, ["*-tmp"]), "orders-tmp", {}, False),
    (Selector.build([], None, {"backup": "daily"}, []), "x", {"backup": "daily"}, True),
    (Selector.build([], None, {"backup": "daily"}, []), "x", {"backup": "weekly"}, False),
    (Selector.build([], None, {"backup": "daily"}, []), "x", None, False),
    (Selector.build(["orders-*"], None, {"env": "prod"}, []), "orders-1", {"env": "prod"}, True),
    (Selector.build(["orders-*"], None, {"env": "prod"}, []), "users", {"env": "prod"}, False),
    (Selector.build(["Orders-*"], None, {}, []), "orders-1", {}, False),
])
def test_selection_combines_globs_regex_tags_and_exclusions(
        selector: Selector, name: str, tags: dict[str, str] | None, selected: bool) -> None:
    assert selector.selects(name, tags) is selected


def test_spread_is_bounded_by_window_and_interval() -> None:
    assert spread_seconds(timedelta(hours=1), 300, 86400) == 300
    assert spread_seconds(timedelta(minutes=4), 300, 86400) == 120
    assert spread_seconds(timedelta(hours=1), 300, 60) == 30


def test_a_slot_is_due_only_inside_its_start_window() -> None:
    daily = parse_expression("cron(0 5 * * ? *)")
    window = timedelta(hours=1)
    assert due_slot(daily, SLOT, window) == SLOT
    assert due_slot(daily, SLOT + timedelta(minutes=59), window) == SLOT
    assert due_slot(daily, SLOT + timedelta(minutes=61), window) is None
    assert due_slot(daily, SLOT - timedelta(seconds=1), window) is None


def test_tables_become_due_in_their_spread_order_and_done_ones_drop_out() -> None:
    tables = [f"t{i}" for i in range(100)]
    order = SpreadOrder.of("daily", tables)
    assert due_tables(order, SLOT, SLOT, 300, set()) == []
    halfway = due_tables(order, SLOT, SLOT + timedelta(seconds=150), 300, set())
    assert 20 < len(halfway) < 80
    everything = due_tables(order, SLOT, SLOT + timedelta(seconds=300), 300, set())
    assert sorted(everything) == sorted(tables)
    assert "t1" not in due_tables(order, SLOT, SLOT + timedelta(seconds=300), 300, {"t1"})
    assert sorted(due_tables(order, SLOT, SLOT, 0, set())) == sorted(tables)


@given(schedule=st.text(min_size=1), table=st.text(min_size=1))
def test_a_tables_place_in_the_spread_is_stable_and_in_range(schedule: str,
                                                             table: str) -> None:
    fraction = spread_fraction(schedule, table)
    assert 0 <= fraction < 1
    assert fraction == spread_fraction(schedule, table)


def test_slots_passed_while_down_are_missed_and_counting_is_bounded() -> None:
    hourly = parse_expression("rate(1 hour)")
    found = missed_slots(hourly, SLOT, SLOT + timedelta(hours=3))
    assert found == [SLOT + timedelta(hours=1), SLOT + timedelta(hours=2)]
    assert missed_slots(hourly, None, SLOT) == []
    assert missed_slots(hourly, SLOT, SLOT) == []
    minutely = parse_expression("rate(1 minute)")
    assert len(missed_slots(minutely, SLOT, SLOT + timedelta(days=30))) == MAX_MISSED_COUNTED
