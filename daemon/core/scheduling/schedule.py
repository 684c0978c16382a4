"""Schedule maths: when do AWS `cron()` and `rate()` expressions fire (pure, time passed in).

- `cron()` is evaluated in the schedule's IANA time zone with EventBridge Scheduler's
  daylight-saving rules: a wall time that does not exist (spring forward) is skipped, and a
  wall time that happens twice (fall back) runs once, at its first occurrence.
- `rate(N unit)` slots are aligned to the Unix epoch in UTC, whatever the time zone:
  `rate(6 hours)` fires at 00:00, 06:00, 12:00 and 18:00 UTC on every replica and after any
  restart, so the slot time is a stable identity of one run.

`next_run(spec, now)` is what `check-config` prints; `slot_at_or_before` is what the
planner uses to find the slot that is due now.

Whitespace follows AWS exactly: nothing before or after the expression, nothing just inside
its parentheses, and one space (U+0020) between `rate()`'s value and unit and between
`cron()`'s fields. AWS refuses the first two; it documents only "separated by white space"
for the third, and its own CloudFormation linter (cfn-lint E3027) splits on a single space,
so runs of spaces and tabs are refused too (docs/scheduling.md, "Whitespace").
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from daemon.core.scheduling.cron import CronError, CronFields, parse_cron

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}
WRAPPED_RE = re.compile(r"(rate|cron)\((.*)\)", re.DOTALL)
RATE_RE = re.compile(r"rate\((\S+) (\S+)\)")
CRON_RE = re.compile(r"cron\((.*)\)")
INTERVAL_SAMPLE = 64


class ScheduleError(ValueError):
    """An expression or time zone AWS would reject; the message is the reason."""


class HasSchedule(Protocol):
    """Anything with an expression and a time zone (the settings' ScheduleSpec)."""

    @property
    def expression(self) -> str: ...

    @property
    def timezone(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Rate:
    """`rate(N unit)`: every `seconds`, counted from the Unix epoch."""

    seconds: int

    def after(self, moment: datetime) -> datetime:
        return EPOCH + timedelta(seconds=self.seconds) * ((moment - EPOCH) // self._step() + 1)

    def at_or_before(self, moment: datetime) -> datetime:
        return EPOCH + self._step() * ((moment - EPOCH) // self._step())

    def _step(self) -> timedelta:
        return timedelta(seconds=self.seconds)


@dataclass(frozen=True, slots=True)
class Cron:
    """`cron(...)` in AWS's dialect, evaluated in `zone`."""

    fields: CronFields
    zone: ZoneInfo

    def after(self, moment: datetime) -> datetime | None:
        """The first run strictly after `moment`, or None when the years run out."""
        local = moment.astimezone(self.zone)
        day: date | None = local.date()
        floor: time | None = local.time().replace(tzinfo=None)
        while day is not None:
            if self.fields.day_matches(day):
                for wall in self._times(floor, reverse=False):
                    run = resolve(datetime.combine(day, wall), self.zone)
                    if run is not None and run > moment:
                        return run
            day, floor = self._next_day(day, +1), None
        return None

    def at_or_before(self, moment: datetime) -> datetime | None:
        """The latest run at or before `moment`, or None when there is none since 1970."""
        local = moment.astimezone(self.zone)
        day: date | None = local.date()
        # In the repeated hour of a fall-back, earlier wall times can be later instants.
        ceiling: time | None = None if local.fold else local.time().replace(tzinfo=None)
        while day is not None:
            if self.fields.day_matches(day):
                for wall in self._times(ceiling, reverse=True):
                    run = resolve(datetime.combine(day, wall), self.zone)
                    if run is not None and run <= moment:
                        return run
            day, ceiling = self._next_day(day, -1), None
        return None

    def _times(self, bound: time | None, *, reverse: bool) -> list[time]:
        """Wall times of one day, ascending from `bound` (or descending to it), by minute."""
        times = _wall_times(self.fields.hours, self.fields.minutes)
        if bound is None:
            return times[::-1] if reverse else times
        cut = bisect.bisect_left(times, bound.replace(second=0, microsecond=0))
        return times[: cut + 1][::-1] if reverse else times[cut:]

    def _next_day(self, day: date, direction: int) -> date | None:
        """The next day worth looking at, skipping months and years the expression excludes."""
        try:
            candidate = day + timedelta(days=direction)
            while not (candidate.year in self.fields.years
                       and candidate.month in self.fields.months):
                candidate = _month_edge(candidate, direction)
        except (OverflowError, ValueError):
            return None
        return candidate if 1970 <= candidate.year <= 2199 else None


@functools.lru_cache(maxsize=256)
def _wall_times(hours: tuple[int, ...], minutes: tuple[int, ...]) -> list[time]:
    return [time(h, m) for h in hours for m in minutes]


def _month_edge(day: date, direction: int) -> date:
    """First day of the next month (forward) or last day of the previous one (backward)."""
    if direction > 0:
        if day.year > 2199:
            raise ValueError("past the last year AWS accepts")
        return date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    if day.year < 1970:
        raise ValueError("before the first year AWS accepts")
    return day.replace(day=1) - timedelta(days=1)


def resolve(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """The UTC instant of a naive wall time: None if it does not exist, first one if twice."""
    aware = wall.replace(tzinfo=zone, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return instant


Expression = Rate | Cron


def load_zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ScheduleError if unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ScheduleError(f"unknown time zone {name!r} (use an IANA name such as "
                            "Europe/Paris)") from exc


def parse_expression(text: str, timezone: str = "UTC") -> Expression:
    """Parse `cron(...)` or `rate(...)`; ScheduleError with AWS's reason when invalid."""
    _check_whitespace(text)
    if match := RATE_RE.fullmatch(text):
        return Rate(_rate_seconds(match.group(1), match.group(2)))
    if match := CRON_RE.fullmatch(text):
        zone = load_zone(timezone)
        try:
            return Cron(parse_cron(match.group(1)), zone)
        except CronError as exc:
            raise ScheduleError(str(exc)) from exc
    raise ScheduleError(f"{text!r} is neither cron(...) nor rate(...)")


def _check_whitespace(text: str) -> None:
    """Refuse the whitespace AWS refuses (module docstring); ScheduleError names the problem."""
    if text != text.strip():
        raise ScheduleError(f"{text!r}: no spaces before or after the expression")
    match = WRAPPED_RE.fullmatch(text)
    if match is None:
        return
    kind, body = match.groups()
    if body != body.strip():
        raise ScheduleError(f"{kind}(): no spaces inside the parentheses")
    if "  " in body or any(char.isspace() and char != " " for char in body):
        parts = "the value and the unit" if kind == "rate" else "the fields"
        raise ScheduleError(f"{kind}(): separate {parts} with one space (no tabs, line breaks "
                            "or runs of spaces)")


def _rate_seconds(value_text: str, unit: str) -> int:
    if not value_text.isdigit() or int(value_text) == 0:
        raise ScheduleError(f"rate(): the value must be a positive whole number, got "
                            f"{value_text!r}")
    if unit not in UNITS:
        raise ScheduleError(f"rate(): unit {unit!r} is not one of minute(s), hour(s), day(s)")
    value = int(value_text)
    if (value == 1) != (not unit.endswith("s")):
        want = unit.rstrip("s") if value == 1 else unit + "s"
        raise ScheduleError(f"rate(): AWS wants the {'singular' if value == 1 else 'plural'} "
                            f"unit for {value}: rate({value} {want})")
    return value * UNITS[unit]


def next_runs(expression: Expression, after: datetime, count: int) -> list[datetime]:
    """Up to `count` run times strictly after `after`, in UTC."""
    runs: list[datetime] = []
    moment = after
    while len(runs) < count:
        run = expression.after(moment)
        if run is None:
            break
        runs.append(run)
        moment = run
    return runs


def next_run(spec: HasSchedule, now: datetime) -> datetime | None:
    """The next run of a schedule strictly after `now` (None if it never runs again)."""
    return parse_expression(spec.expression, spec.timezone).after(now)


def slot_at_or_before(expression: Expression, now: datetime) -> datetime | None:
    """The slot that is (or was last) due at `now`: the latest run time at or before it."""
    return expression.at_or_before(now)


def expected_interval_seconds(expression: Expression, now: datetime) -> float:
    """The longest gap between consecutive runs ahead of `now` (64 samples): an alert on
    "no success within 2 intervals" then never fires on a regular weekend gap."""
    if isinstance(expression, Rate):
        return float(expression.seconds)
    runs = next_runs(expression, now, INTERVAL_SAMPLE)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(runs)]
    return max(gaps, default=0.0)
