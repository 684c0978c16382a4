"""Freshness and coverage decisions: newest good backup per table, ages, lateness, gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.scheduling.freshness import (
    MAX_LOOKBACK,
    Coverage,
    JobOwner,
    NewestBackups,
    TableAge,
    TableFacts,
    assess,
    baseline,
    coverage,
    is_late,
    job_owner,
    lookback,
    new_gaps,
    newest_good,
    newest_slots,
    selected_by_any,
    table_age,
)
from daemon.core.scheduling.inventory import Listed
from daemon.core.scheduling.planner import Selector
from daemon.core.scheduling.schedule import parse_expression
from daemon.core.tasks.exports import needs_pitr

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
DAY = 86400.0
HOUR = 3600.0


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def listed(table: str, hours_ago: float, status: str = "AVAILABLE", schedule: str | None = None,
           slot_hours_ago: float | None = None) -> Listed:
    slot = None if slot_hours_ago is None else ago(slot_hours_ago)
    return Listed(table, f"arn:{table}:{hours_ago}", ago(hours_ago), status, schedule, slot)


@pytest.mark.parametrize(("intervals", "factor", "rpo", "expected"), [
    ([DAY], 2, None, timedelta(days=2, hours=1)),              # past 2 daily intervals, + margin
    ([HOUR, DAY], 2, None, timedelta(days=2, hours=1)),        # the longest interval counts
    ([HOUR], 2, 3 * DAY, timedelta(days=3, hours=1)),          # an RPO beyond it counts too
    ([7 * DAY], 3, None, timedelta(days=21, hours=1)),
    ([30 * DAY], 2, None, MAX_LOOKBACK),                       # never beyond 35 days
    ([], 2, None, timedelta(hours=1)),                         # no schedule: the margin only
])
def test_the_lookback_covers_every_lateness_limit_and_the_rpo(intervals, factor, rpo, expected):
    assert lookback(intervals, factor, rpo) == expected


def test_the_newest_good_backup_of_each_table_counts_and_nothing_else():
    found = newest_good([
        listed("a", 30), listed("a", 5), listed("a", 1, status="CREATING"),
        listed("b", 2, status="DELETED"), listed("b", 40),
        listed("c", 3, status="COMPLETED"),          # an AWS Backup job
        listed("d", 100),                            # before the window
    ], since=ago(48))
    assert found == {"a": ago(5), "b": ago(40), "c": ago(3)}


def test_a_schedules_last_success_is_its_newest_slot_among_its_good_backups():
    slots = newest_slots([
        listed("a", 25, schedule="daily", slot_hours_ago=25),
        listed("b", 1, schedule="daily", slot_hours_ago=1),
        listed("c", 0.5, status="CREATING", schedule="daily", slot_hours_ago=0.5),
        listed("a", 2, schedule="hourly", slot_hours_ago=2),
        listed("x", 0.1),                            # not the daemon's
    ])
    assert slots == {"daily": ago(1), "hourly": ago(2)}


def test_a_job_is_a_schedules_when_role_and_vault_match_and_no_plan_made_it():
    owners = [JobOwner("nightly", "role-a", "vault-a", parse_expression("cron(0 5 * * ? *)"))]
    created = datetime(2026, 12, 4, 5, 7, tzinfo=UTC)
    mine = {"role_arn": "role-a", "vault": "vault-a", "created": created}
    assert job_owner(owners, by_plan=False, **mine) == (
        "nightly", datetime(2026, 12, 4, 5, tzinfo=UTC))
    assert job_owner(owners, by_plan=True, **mine) is None
    assert job_owner(owners, by_plan=False, role_arn="role-b", vault="vault-a",
                     created=created) is None


def test_the_newest_backup_only_moves_forward():
    book = NewestBackups()
    assert book.record("a", ago(5))
    assert not book.record("a", ago(6))             # an older report changes nothing
    assert not book.record("a", ago(5))             # nor a repeated one
    assert book.record("a", ago(1))
    assert book.merge({"a": ago(3), "b": ago(2)}) == 1
    assert (book.get("a"), book.get("b"), len(book), book.version) == (ago(1), ago(2), 2, 3)


@given(st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 10_000)), max_size=40))
def test_the_book_holds_the_maximum_whatever_the_order(reports):
    book = NewestBackups()
    for table, minutes in reports:
        book.record(table, NOW - timedelta(minutes=minutes))
    for table in "abc":
        expected = [NOW - timedelta(minutes=m) for t, m in reports if t == table]
        assert book.get(table) == (max(expected) if expected else None)


@pytest.mark.parametrize(("created", "expected"), [
    (None, ago(49)),                 # creation unknown: the window's start
    (ago(500), ago(49)),             # created long before the window: its start
    (ago(2), ago(2)),                # created within it: since its creation
])
def test_a_table_without_a_known_backup_counts_from_its_baseline(created, expected):
    assert baseline(ago(49), created) == expected


@pytest.mark.parametrize(("last", "created", "age_hours", "late"), [
    (ago(1), None, 1, False),
    (ago(47), None, 47, False),
    (ago(49), None, 49, True),       # older than 2 x a day
    (None, None, 49, True),          # nothing in the 49 h window: late for sure
    (None, ago(3), 3, False),        # a new table, not backed up yet: not late
    (None, NOW + timedelta(hours=1), 0, False),  # a creation time ahead of our clock
])
def test_a_table_is_late_past_factor_times_interval(last, created, age_hours, late):
    age = table_age("t", last, created, horizon=ago(49), now=NOW, limit_seconds=2 * DAY)
    assert (age.age_seconds, age.late) == (age_hours * HOUR, late)


@pytest.mark.parametrize(("age", "limit", "late"), [
    (10.0, 5.0, True), (5.0, 5.0, False), (1e9, 0.0, False), (1e9, -1.0, False)])
def test_late_means_strictly_older_than_a_positive_limit(age, limit, late):
    assert is_late(age, limit) is late


def test_a_schedule_in_which_one_table_never_succeeds_reports_that_table():
    """The issue's 50-table schedule with one table that always fails: the schedule's last
    success keeps moving, but the table stays late and oldest until it has a good backup."""
    book = NewestBackups()
    tables = [f"t{i:02d}" for i in range(50)]
    book.merge({t: ago(2) for t in tables if t != "t13"})
    book.record("t13", ago(80))
    summary, ages = assess("daily", DAY, tables, book, {}, horizon=ago(49), now=NOW,
                           late_factor=2)
    assert (summary.tables, summary.late, summary.without_backup) == (50, 1, 0)
    assert summary.oldest is not None
    assert (summary.oldest.table, summary.oldest.age_seconds) == ("t13", 80 * HOUR)
    assert [a.table for a in summary.late_tables] == ["t13"]
    assert [a.table for a in ages] == tables
    book.record("t13", ago(0.5))
    summary, _ = assess("daily", DAY, tables, book, {}, horizon=ago(49), now=NOW, late_factor=2)
    assert summary.late == 0


def test_a_schedule_without_tables_has_no_oldest_and_nothing_late():
    summary, ages = assess("empty", DAY, [], NewestBackups(), {}, horizon=ago(49), now=NOW,
                           late_factor=2)
    assert (summary.tables, summary.late, summary.oldest, ages) == (0, 0, None, [])


def test_late_tables_are_sampled_oldest_first():
    book = NewestBackups()
    book.merge({f"t{i}": ago(100 + i) for i in range(30)})
    summary, _ = assess("d", DAY, [f"t{i}" for i in range(30)], book, {}, horizon=ago(200),
                        now=NOW, late_factor=2, sample=5)
    assert summary.late == 30
    assert [a.table for a in summary.late_tables] == ["t29", "t28", "t27", "t26", "t25"]


@given(st.dictionaries(st.sampled_from([f"t{i}" for i in range(8)]),
                       st.integers(0, 500), max_size=8),
       st.integers(1, 100), st.floats(1, 5))
def test_the_oldest_age_bounds_every_tables_age_and_late_counts_agree(found, interval_h, factor):
    book = NewestBackups()
    book.merge({t: ago(h) for t, h in found.items()})
    tables = [*sorted(found), "never"]
    summary, ages = assess("s", interval_h * HOUR, tables, book, {}, horizon=ago(600), now=NOW,
                           late_factor=factor)
    assert summary.oldest is not None
    assert all(a.age_seconds <= summary.oldest.age_seconds for a in ages)
    assert summary.late == sum(a.age_seconds > factor * interval_h * HOUR for a in ages)
    assert summary.without_backup == 1


SCHEDULES = [Selector.build(["orders-*"], None, {}, ["*-tmp"]),
             Selector.build([], None, {"backup": "daily"}, [])]


@pytest.mark.parametrize(("table", "expected"), [
    (TableFacts("orders-1", {}), True),
    (TableFacts("orders-tmp", {}), False),                  # excluded by the schedule
    (TableFacts("users", {"backup": "daily"}), True),       # selected by tag
    (TableFacts("users", {}), False),
    (TableFacts("users", None), None),                      # tags not known yet: undecided
    (TableFacts("orders-1", None), True),                   # known by name already
])
def test_a_table_is_selected_by_any_selector_or_undecided_while_tags_are_unknown(table,
                                                                                 expected):
    assert selected_by_any(table, SCHEDULES) is expected


def test_coverage_finds_unselected_tables_pitr_off_and_rpo_breaches():
    book = NewestBackups()
    book.merge({"orders-1": ago(1), "orders-2": ago(30), "users": ago(2)})
    tables = [
        TableFacts("orders-1", {}, ago(1000), pitr=True),
        TableFacts("orders-2", {}, ago(1000), pitr=False),
        TableFacts("users", {}, ago(1000)),                 # unselected
        TableFacts("scratch-1", {}, ago(1000)),             # excluded from coverage
        TableFacts("audit", None, ago(1)),                  # tags unknown; new table
        TableFacts("orders-3", {}, ago(1000), pitr=None),   # PITR not checked yet
    ]
    found = coverage(tables, SCHEDULES, pitr_needed=lambda t: t.startswith("orders-"),
                     newest=book, horizon=ago(49), now=NOW, rpo_seconds=DAY,
                     exclude=["scratch-*"])
    assert found.tables == 5
    assert found.unselected == ("users",)
    assert found.pitr_off == ("orders-2",)
    assert [(a.table, a.age_seconds) for a in found.rpo_breached] == [
        ("orders-3", 49 * HOUR), ("orders-2", 30 * HOUR)]
    assert (found.tags_unknown, found.pitr_unknown) == (1, 1)
    assert found.counts() == {"unselected": 1, "pitr_off": 1, "rpo_breached": 2}


def test_without_an_rpo_no_table_breaches_it():
    found = coverage([TableFacts("orders-1", {})], SCHEDULES, pitr_needed=lambda _: False,
                     newest=NewestBackups(), horizon=ago(49), now=NOW, rpo_seconds=None)
    assert found.rpo_breached == ()


def test_the_selector_hook_takes_any_selector_such_as_a_plans():
    """Backup plans (issue 12) add their own selectors: coverage counts them as protection."""

    class PlanSelection:
        needs_tags = False

        def selects(self, name: str, tags: object = None) -> bool:
            return name == "users"

    found = coverage([TableFacts("users", {})], [*SCHEDULES, PlanSelection()],
                     pitr_needed=lambda _: False, newest=NewestBackups(), horizon=ago(1),
                     now=NOW, rpo_seconds=None)
    assert found.unselected == ()


def _age(table: str) -> TableAge:
    return TableAge(table, None, ago(50), 50 * HOUR, True)


def test_new_gaps_are_the_tables_that_entered_one():
    before = Coverage(3, ("a",), (), (_age("x"),))
    after = Coverage(3, ("a", "b"), ("c",), (_age("x"), _age("y")))
    assert new_gaps(before, after) == {"unselected": ["b"], "pitr_off": ["c"],
                                       "rpo_breached": ["y"]}
    assert new_gaps(after, after) == {}
    assert new_gaps(None, before) == {"unselected": ["a"], "rpo_breached": ["x"]}


class Rule:
    def __init__(self, kind: str, pattern: str) -> None:
        self.kind, self.source_pattern = kind, pattern
        self.name, self.on_backup, self.prefix = "r", True, "exports"


@pytest.mark.parametrize(("rules", "table", "needed"), [
    ([Rule("dynamodb", "^orders-")], "orders-1", True),
    ([Rule("dynamodb", "^orders-")], "users", False),
    ([Rule("rds", ".*")], "orders-1", False),               # RDS exports need no PITR
    ([], "orders-1", False),
])
def test_dynamodb_export_rules_need_pitr_on_the_tables_they_cover(rules, table, needed):
    assert needs_pitr(rules, table) is needed
