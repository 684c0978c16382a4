"""rate() slots aligned to the epoch, the slot due now, and the interval an alert expects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.scheduling.schedule import (
    Rate,
    ScheduleError,
    expected_interval_seconds,
    next_run,
    next_runs,
    parse_expression,
    slot_at_or_before,
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@dataclass
class Spec:
    expression: str
    timezone: str = "UTC"


@pytest.mark.parametrize(("expression", "seconds"), [
    ("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(1 hour)", 3600),
    ("rate(6 hours)", 21600), ("rate(1 day)", 86400), ("rate(7 days)", 604800),
])
def test_rate_expressions_parse_to_their_period(expression: str, seconds: int) -> None:
    assert parse_expression(expression) == Rate(seconds)


@pytest.mark.parametrize(("expression", "reason"), [
    ("rate( 10 minutes )", "rate(): no spaces inside the parentheses"),
    ("rate( 10 minutes)", "rate(): no spaces inside the parentheses"),
    ("rate(10 minutes )", "rate(): no spaces inside the parentheses"),
    (" rate(10 minutes)", "no spaces before or after the expression"),
    ("rate(10 minutes) ", "no spaces before or after the expression"),
    ("\trate(10 minutes)", "no spaces before or after the expression"),
    ("rate(10  minutes)", "rate(): separate the value and the unit with one space"),
    ("rate(10\tminutes)", "rate(): separate the value and the unit with one space"),
    ("rate(10\nminutes)", "rate(): separate the value and the unit with one space"),
], ids=repr)
def test_rate_whitespace_aws_refuses_is_refused_naming_the_problem(expression: str,
                                                                   reason: str) -> None:
    """AWS refuses `rate( 10 minutes )` (PutRule) and ` rate(10 minutes)` (CreateSchedule)."""
    with pytest.raises(ScheduleError, match=re.escape(reason)):
        parse_expression(expression)


def test_rate_6_hours_runs_at_00_06_12_18_utc() -> None:
    found = next_runs(parse_expression("rate(6 hours)"), utc(2026, 5, 3, 7, 13), 4)
    assert [r.hour for r in found] == [12, 18, 0, 6]
    assert all(r.minute == 0 and r.second == 0 for r in found)


def test_rate_1_day_runs_at_midnight_utc_whatever_the_time_zone() -> None:
    expression = parse_expression("rate(1 day)", "Asia/Kolkata")
    assert next_runs(expression, utc(2026, 5, 3, 7, 13), 2) == [utc(2026, 5, 4), utc(2026, 5, 5)]


@given(moment=st.datetimes(datetime(1971, 1, 1), datetime(2150, 1, 1)),
       minutes=st.integers(1, 60 * 24 * 10))
def test_rate_slots_are_the_same_from_any_starting_point(moment: datetime,
                                                         minutes: int) -> None:
    """Slots are multiples of the period since the epoch: a restart finds the same slot."""
    rate = Rate(minutes * 60)
    start = moment.replace(tzinfo=UTC)
    slot = rate.at_or_before(start)
    assert slot <= start < slot + timedelta(minutes=minutes)
    assert int(slot.timestamp()) % (minutes * 60) == 0
    assert rate.after(start) == slot + timedelta(minutes=minutes)


def test_next_run_of_a_spec_is_strictly_after_now() -> None:
    assert next_run(Spec("cron(0 5 * * ? *)"), utc(2026, 11, 24, 5)) == utc(2026, 11, 25, 5)
    assert next_run(Spec("cron(0 5 * * ? *)", "Europe/Paris"),
                    utc(2026, 11, 24)) == utc(2026, 11, 24, 4)


def test_next_run_is_none_once_the_years_run_out() -> None:
    assert next_run(Spec("cron(0 0 1 1 ? 2020)"), utc(2026, 1, 1)) is None


def test_the_due_slot_is_the_latest_run_at_or_before_now() -> None:
    daily = parse_expression("cron(0 5 * * ? *)")
    assert slot_at_or_before(daily, utc(2026, 11, 24, 5)) == utc(2026, 11, 24, 5)
    assert slot_at_or_before(daily, utc(2026, 11, 24, 4, 59)) == utc(2026, 11, 23, 5)
    assert slot_at_or_before(parse_expression("cron(0 0 1 1 ? 2030)"), utc(2026, 1, 1)) is None


@pytest.mark.parametrize(("expression", "seconds"), [
    ("rate(5 minutes)", 300),
    ("cron(0 5 * * ? *)", 86400),
    ("cron(0 9 ? * MON-FRI *)", 3 * 86400),
    ("cron(0/15 * * * ? *)", 900),
    ("cron(0 0 1 * ? *)", 31 * 86400),
])
def test_expected_interval_is_the_longest_regular_gap(expression: str, seconds: int) -> None:
    assert expected_interval_seconds(parse_expression(expression), utc(2026, 1, 5)) == seconds


@given(moment=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)),
       zone=st.sampled_from(["UTC", "America/New_York", "Europe/London", "Australia/Sydney"]))
def test_cron_slot_and_next_run_bracket_now(moment: datetime, zone: str) -> None:
    expression = parse_expression("cron(0/20 1-3 ? * 1,4 *)", zone)
    now = moment.replace(tzinfo=UTC)
    slot, upcoming = expression.at_or_before(now), expression.after(now)
    assert slot is not None
    assert upcoming is not None
    assert slot <= now < upcoming
    assert expression.after(slot) == upcoming
