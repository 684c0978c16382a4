"""AWS cron(): the dialect's tricky cases, its rejections, and an oracle check against cronsim."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta

import pytest
from cronsim import CronSim, CronSimError
from hypothesis import given, settings
from hypothesis import strategies as st

from daemon.core.scheduling.cron import parse_values
from daemon.core.scheduling.schedule import ScheduleError, next_runs, parse_expression


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def runs(expression: str, start: datetime, count: int = 4, tz: str = "UTC") -> list[str]:
    found = next_runs(parse_expression(expression, tz), start, count)
    return [r.strftime("%Y-%m-%dT%H:%M") for r in found]


@pytest.mark.parametrize(("expression", "start", "expected"), [
    ("cron(0 5 * * ? *)", utc(2026, 11, 24), ["2026-11-24T05:00", "2026-11-25T05:00"]),
    ("cron(0 5 * * ? *)", utc(2026, 11, 24, 5), ["2026-11-25T05:00", "2026-11-26T05:00"]),
    ("cron(0/15 * * * ? *)", utc(2026, 1, 1, 0, 7), ["2026-01-01T00:15", "2026-01-01T00:30"]),
    ("cron(5/20 * * * ? *)", utc(2026, 1, 1), ["2026-01-01T00:05", "2026-01-01T00:25"]),
    ("cron(0 9 ? * MON-FRI *)", utc(2026, 11, 27, 10), ["2026-11-30T09:00", "2026-12-01T09:00"]),
    ("cron(0 9 ? * 2-6 *)", utc(2026, 11, 27, 10), ["2026-11-30T09:00", "2026-12-01T09:00"]),
    ("cron(0 12 ? * 1 *)", utc(2026, 11, 24), ["2026-11-29T12:00", "2026-12-06T12:00"]),
    ("cron(0 12 ? * SUN,SAT *)", utc(2026, 11, 24), ["2026-11-28T12:00", "2026-11-29T12:00"]),
    ("cron(0 0 1 JAN,JUL ? *)", utc(2026, 3, 1), ["2026-07-01T00:00", "2027-01-01T00:00"]),
    ("cron(0 0 L * ? *)", utc(2026, 1, 31, 1), ["2026-02-28T00:00", "2026-03-31T00:00"]),
    ("cron(0 0 L 2 ? *)", utc(2027, 3, 1), ["2028-02-29T00:00", "2029-02-28T00:00"]),
    ("cron(0 0 LW * ? *)", utc(2026, 5, 1), ["2026-05-29T00:00", "2026-06-30T00:00"]),
    ("cron(0 0 15W * ? *)", utc(2026, 8, 1), ["2026-08-14T00:00", "2026-09-15T00:00"]),
    ("cron(0 0 1W * ? *)", utc(2026, 7, 31), ["2026-08-03T00:00", "2026-09-01T00:00"]),
    ("cron(0 0 31W * ? *)", utc(2026, 5, 1), ["2026-05-29T00:00", "2026-07-31T00:00"]),
    ("cron(15 10 ? * 6L *)", utc(2026, 3, 1), ["2026-03-27T10:15", "2026-04-24T10:15"]),
    ("cron(0 8 ? * L *)", utc(2026, 11, 24), ["2026-11-28T08:00", "2026-12-05T08:00"]),
    ("cron(0 9 ? * 3#2 *)", utc(2026, 3, 1), ["2026-03-10T09:00", "2026-04-14T09:00"]),
    ("cron(0 9 ? * MON#5 *)", utc(2026, 1, 1), ["2026-03-30T09:00", "2026-06-29T09:00"]),
    ("cron(0 0 1 1 ? 2027-2028)", utc(2026, 6, 1), ["2027-01-01T00:00", "2028-01-01T00:00"]),
    ("cron(0 0 29 2 ? *)", utc(2026, 1, 1), ["2028-02-29T00:00", "2032-02-29T00:00"]),
    ("cron(0 0 1 1 ? 2020/5)", utc(2026, 1, 1), ["2030-01-01T00:00", "2035-01-01T00:00"]),
    ("cron(30 23 ? * fri *)", utc(2026, 11, 24), ["2026-11-27T23:30", "2026-12-04T23:30"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_cron_runs_at_the_times_aws_documents(expression: str, start: datetime,
                                              expected: list[str]) -> None:
    assert runs(expression, start, len(expected)) == expected


def test_a_year_limited_schedule_ends() -> None:
    assert runs("cron(0 0 1 1 ? 2027)", utc(2026, 6, 1), 3) == ["2027-01-01T00:00"]


def test_an_impossible_day_never_runs() -> None:
    assert runs("cron(0 0 30 2 ? *)", utc(2026, 1, 1), 1) == []


@pytest.mark.parametrize(("expression", "reason"), [
    ("cron(nonsense)", "6 fields"),
    ("cron(0 5 * * ?)", "6 fields"),
    ("cron(0 0 5 * * ? *)", "6 fields"),
    ("cron(0 5 * * * *)", "must be '?'"),
    ("cron(0 5 1 * MON *)", "must be '?'"),
    ("cron(0 5 ? * ? *)", "cannot both be '?'"),
    ("cron(? 5 * * ? *)", "'?' is only allowed"),
    ("cron(60 5 * * ? *)", "minutes: 60 is outside 0-59"),
    ("cron(0 24 * * ? *)", "hours: 24 is outside 0-23"),
    ("cron(0 5 0 * ? *)", "day-of-month: 0 is outside 1-31"),
    ("cron(0 5 32 * ? *)", "day-of-month: 32 is outside 1-31"),
    ("cron(0 5 1 13 ? *)", "month: 13 is outside 1-12"),
    ("cron(0 5 ? * 0 *)", "day-of-week: 0 is outside 1-7"),
    ("cron(0 5 ? * 8 *)", "day-of-week: 8 is outside 1-7"),
    ("cron(0 5 1 * ? 1969)", "year: 1969 is outside 1970-2199"),
    ("cron(0 5 1 * ? 2200)", "year: 2200 is outside 1970-2199"),
    ("cron(0 5 ? * MON/2 *)", "'/' is not allowed"),
    ("cron(0/0 5 * * ? *)", "positive number"),
    ("cron(0 5 1 1 ? 2030-2027)", "years do not wrap"),
    ("cron(0 5 L,15 * ? *)", "must stand alone"),
    ("cron(0 5 1-5W * ? *)", "single day"),
    ("cron(0 5 ? * 3#1,6#3 *)", "'#' takes one day"),
    ("cron(0 5 ? * 3#6 *)", "'#' takes one day"),
    ("cron(0 5 ? * 2-3L *)", "single day"),
    ("cron(0 5 ? * MON,L *)", "single day"),
    ("cron(0 5 ? * L5 *)", "'L' must stand alone"),
    ("cron(0 5 1 FOO ? *)", "'FOO' is not a value"),
    ("cron(MON 5 1 * ? *)", "'MON' is not a value"),
    ("cron(0 5 1,,2 * ? *)", "'' is not a value"),
    ("rate(1 hours)", "singular"),
    ("rate(5 hour)", "plural"),
    ("rate(0 minutes)", "positive whole number"),
    ("rate(-5 minutes)", "positive whole number"),
    ("rate(1.5 hours)", "positive whole number"),
    ("rate(5 seconds)", "not one of minute"),
    ("rate(5 weeks)", "not one of minute"),
    ("rate(5)", "neither cron"),
    ("0 5 * * ? *", "neither cron"),
    ("every day", "neither cron"),
])
def test_expressions_aws_rejects_are_rejected_with_the_reason(expression: str,
                                                              reason: str) -> None:
    with pytest.raises(ScheduleError, match=re.escape(reason)):
        parse_expression(expression)


@pytest.mark.parametrize(("expression", "reason"), [
    ("cron( 0 5 * * ? * )", "cron(): no spaces inside the parentheses"),
    ("cron( 0 5 * * ? *)", "cron(): no spaces inside the parentheses"),
    ("cron(0 5 * * ? * )", "cron(): no spaces inside the parentheses"),
    (" cron(0 5 * * ? *)", "no spaces before or after the expression"),
    ("cron(0 5 * * ? *) ", "no spaces before or after the expression"),
    ("cron(0 5 * * ? *)\n", "no spaces before or after the expression"),
    ("cron(0  5 * * ? *)", "cron(): separate the fields with one space"),
    ("cron(0\t5 * * ? *)", "cron(): separate the fields with one space"),
    ("cron(0 5 * *\n? *)", "cron(): separate the fields with one space"),
], ids=repr)
def test_cron_whitespace_aws_refuses_is_refused_naming_the_problem(expression: str,
                                                                   reason: str) -> None:
    """AWS refuses spaces around the expression and inside the parentheses; between fields
    it takes the single space of its examples (docs/scheduling.md, "Whitespace")."""
    with pytest.raises(ScheduleError, match=re.escape(reason)):
        parse_expression(expression)


# --- backwards ranges wrap round the field (AWS's example cron(0/30 20-2 ? * MON-FRI *)) --
# 2026-11-27 is a Friday.

@pytest.mark.parametrize(("expression", "start", "expected"), [
    ("cron(0/30 20-2 ? * MON-FRI *)", utc(2026, 11, 27, 23, 15),
     ["2026-11-27T23:30", "2026-11-30T00:00", "2026-11-30T00:30"]),
    ("cron(0 22-2 ? * MON *)", utc(2026, 11, 29, 23),
     ["2026-11-30T00:00", "2026-11-30T01:00", "2026-11-30T02:00", "2026-11-30T22:00",
      "2026-11-30T23:00", "2026-12-07T00:00"]),
    ("cron(0 22-2/2 * * ? *)", utc(2026, 11, 24, 21), ["2026-11-24T22:00", "2026-11-25T00:00",
                                                       "2026-11-25T02:00", "2026-11-25T22:00"]),
    ("cron(58-2 10 * * ? *)", utc(2026, 11, 24), ["2026-11-24T10:00", "2026-11-24T10:01",
                                                  "2026-11-24T10:02", "2026-11-24T10:58",
                                                  "2026-11-24T10:59", "2026-11-25T10:00"]),
    ("cron(0 8 ? * FRI-MON *)", utc(2026, 11, 24), ["2026-11-27T08:00", "2026-11-28T08:00",
                                                    "2026-11-29T08:00", "2026-11-30T08:00",
                                                    "2026-12-04T08:00"]),
    ("cron(0 8 ? * 7-1 *)", utc(2026, 11, 24), ["2026-11-28T08:00", "2026-11-29T08:00",
                                                "2026-12-05T08:00"]),
    ("cron(0 0 1 NOV-FEB ? *)", utc(2026, 3, 1), ["2026-11-01T00:00", "2026-12-01T00:00",
                                                  "2027-01-01T00:00", "2027-02-01T00:00",
                                                  "2027-11-01T00:00"]),
    ("cron(0 0 30-2 * ? *)", utc(2027, 1, 29), ["2027-01-30T00:00", "2027-01-31T00:00",
                                                "2027-02-01T00:00", "2027-02-02T00:00",
                                                "2027-03-01T00:00"]),
], ids=lambda v: v if isinstance(v, str) else None)
def test_a_backwards_range_wraps_round_its_field(expression: str, start: datetime,
                                                  expected: list[str]) -> None:
    assert runs(expression, start, len(expected)) == expected


FIELD_SPANS = {"minutes": (0, 59), "hours": (0, 23), "day-of-month": (1, 31), "month": (1, 12),
               "day-of-week": (1, 7)}


@st.composite
def backwards(draw: st.DrawFn) -> tuple[str, int, int]:
    field = draw(st.sampled_from(sorted(FIELD_SPANS)))
    low, high = FIELD_SPANS[field]
    last = draw(st.integers(low, high - 1))
    return field, draw(st.integers(last + 1, high)), last


@given(case=backwards())
def test_a_backwards_range_is_its_two_forward_halves(case: tuple[str, int, int]) -> None:
    """`a-b` with a > b selects a up to the field's end, then its start up to b."""
    field, first, last = case
    low, high = FIELD_SPANS[field]
    assert parse_values(f"{first}-{last}", field) == parse_values(
        f"{first}-{high},{low}-{last}", field)


def test_an_unknown_time_zone_is_rejected() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone"):
        parse_expression("cron(0 5 * * ? *)", "Europe/Atlantis")


# --- daylight saving time (EventBridge Scheduler's rules) -------------------------------
# America/New_York 2026: spring forward on Mar 8 at 02:00 (to 03:00), fall back on Nov 1
# at 02:00 (to 01:00).

def test_a_wall_time_skipped_by_spring_forward_does_not_run() -> None:
    assert runs("cron(30 2 * * ? *)", utc(2026, 3, 7), 3, "America/New_York") == [
        "2026-03-07T07:30", "2026-03-09T06:30", "2026-03-10T06:30"]


def test_a_wall_time_repeated_by_fall_back_runs_once_at_its_first_occurrence() -> None:
    assert runs("cron(30 1 * * ? *)", utc(2026, 10, 31, 12), 2, "America/New_York") == [
        "2026-11-01T05:30", "2026-11-02T06:30"]


def test_a_frequent_schedule_does_not_repeat_the_fall_back_hour() -> None:
    assert runs("cron(0/30 * * * ? *)", utc(2026, 11, 1, 4, 45), 4, "America/New_York") == [
        "2026-11-01T05:00", "2026-11-01T05:30", "2026-11-01T07:00", "2026-11-01T07:30"]


def test_a_frequent_schedule_jumps_the_spring_forward_gap() -> None:
    assert runs("cron(0/30 * * * ? *)", utc(2026, 3, 8, 6, 15), 3, "America/New_York") == [
        "2026-03-08T06:30", "2026-03-08T07:00", "2026-03-08T07:30"]


def test_the_slot_inside_the_repeated_hour_is_the_last_run_before_it() -> None:
    expression = parse_expression("cron(0/30 * * * ? *)", "America/New_York")
    # 06:10Z is 01:10 EST, the second pass through 01:10; the last run was 01:30 EDT.
    assert expression.at_or_before(utc(2026, 11, 1, 6, 10)) == utc(2026, 11, 1, 5, 30)


def test_a_half_hour_dst_shift_is_handled() -> None:
    # Australia/Lord_Howe moves by 30 minutes; 2026-10-04 02:00 -> 02:30.
    assert runs("cron(15 2 * * ? *)", utc(2026, 10, 2), 3, "Australia/Lord_Howe") == [
        "2026-10-02T15:45", "2026-10-04T15:15", "2026-10-05T15:15"]


def test_cron_days_follow_the_schedules_time_zone() -> None:
    # Monday 00:30 in Tokyo is Sunday 15:30 UTC.
    assert runs("cron(30 0 ? * MON *)", utc(2026, 11, 24), 1, "Asia/Tokyo") == [
        "2026-11-29T15:30"]


# --- oracle: where AWS and Unix cron agree, cronsim must give the same times -------------

def _term(low: int, high: int) -> st.SearchStrategy[str]:
    value = st.integers(low, high)
    return st.one_of(
        value.map(str),
        st.tuples(value, value).map(lambda p: f"{min(p)}-{max(p)}"),
        st.tuples(value, st.integers(1, high - low + 1)).map(lambda p: f"{p[0]}/{p[1]}"),
        st.just("*"), st.integers(1, 20).map(lambda s: f"*/{s}"),
    )


def _list(low: int, high: int) -> st.SearchStrategy[str]:
    return st.lists(_term(low, high), min_size=1, max_size=3).map(
        lambda parts: "*" if "*" in parts else ",".join(parts))


@st.composite
def comparable(draw: st.DrawFn) -> tuple[str, str]:
    """An AWS expression and the same schedule in cronsim's Unix syntax (DOW shifted by 1)."""
    minute, hour = draw(_list(0, 59)), draw(_list(0, 23))
    month = draw(_list(1, 12))
    if draw(st.booleans()):
        dom = draw(st.one_of(_list(1, 31), st.just("L"), st.just("LW")))
        return f"cron({minute} {hour} {dom} {month} ? *)", f"{minute} {hour} {dom} {month} *"
    aws_day = draw(st.integers(1, 7))
    kind = draw(st.sampled_from(["list", "last", "nth"]))
    if kind == "last":
        return (f"cron({minute} {hour} ? {month} {aws_day}L *)",
                f"{minute} {hour} * {month} {aws_day - 1}L")
    if kind == "nth":
        nth = draw(st.integers(1, 5))
        return (f"cron({minute} {hour} ? {month} {aws_day}#{nth} *)",
                f"{minute} {hour} * {month} {aws_day - 1}#{nth}")
    days = sorted(set(draw(st.lists(st.integers(1, 7), min_size=1, max_size=3))))
    return (f"cron({minute} {hour} ? {month} {','.join(map(str, days))} *)",
            f"{minute} {hour} * {month} {','.join(str(d - 1) for d in days)}")


@settings(max_examples=150, deadline=None)
@given(pair=comparable(), start=st.datetimes(datetime(2000, 1, 1), datetime(2100, 1, 1)))
def test_cron_agrees_with_cronsim_where_the_dialects_overlap(pair: tuple[str, str],
                                                             start: datetime) -> None:
    aws, unix = pair
    begin = start.replace(tzinfo=UTC)
    ours = next_runs(parse_expression(aws), begin, 5)
    try:
        oracle = CronSim(unix, begin)
    except CronSimError:  # cronsim refuses days no chosen month has; AWS accepts, never runs
        assert ours == []
        return
    theirs = [next(oracle) for _ in ours]
    assert ours == theirs
    assert all(run > begin for run in ours)
    assert all(b - a >= timedelta(minutes=1) for a, b in itertools.pairwise(ours))
