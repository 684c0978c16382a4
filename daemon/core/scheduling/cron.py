"""AWS EventBridge `cron()` fields: parsing with AWS's rules and day matching (pure).

Why our own parser: cronsim (and croniter) read Unix cron. AWS's dialect differs in ways
that matter for backups — day-of-week 1 = SUN … 7 = SAT, a year field, `nW` (nearest
weekday), `L` alone in day-of-week, and the rule that exactly one of day-of-month and
day-of-week is `?`. cronsim handles `LW` but not `nW`, and ORs the two day fields like
Debian cron; a translation layer would be as long as this module and harder to trust.

Grammar per field (AWS's table): minutes `, - * /`; hours `, - * /`; day-of-month
`, - * ? / L W`; month `, - * /` and JAN-DEC; day-of-week `, - * ? L #` and SUN-SAT;
year `, - * /` in 1970-2199. Like Quartz, `L`, `LW`, `nW`, `nL` and `n#k` stand alone
in their field (AWS: "If you use a '#' character, you can define only one expression").

A range that runs backwards wraps round its field, as in AWS's own examples
(`cron(0/30 20-2 ? * MON-FRI *)`: hours 20-23 and 0-2) and in Quartz: `FRI-MON` is FRI, SAT,
SUN, MON; `NOV-FEB` is NOV-DEC, JAN-FEB; day-of-month wraps after 31. A step keeps counting
across the wrap (`22-2/2` is 22, 0, 2). Years do not wrap: a backwards year range is refused.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Literal

MONTHS = {name: i for i, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
WEEKDAYS = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}
RANGES = {"minutes": (0, 59), "hours": (0, 23), "day-of-month": (1, 31), "month": (1, 12),
          "day-of-week": (1, 7), "year": (1970, 2199)}
NAMES = {"month": MONTHS, "day-of-week": WEEKDAYS}
NO_STEP = frozenset({"day-of-week"})
NO_WRAP = frozenset({"year"})


class CronError(ValueError):
    """An expression AWS would reject; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class DayRule:
    """How days are chosen: from day-of-month or from day-of-week (the other one is `?`)."""

    kind: Literal["dom", "last", "last-weekday", "nearest-weekday", "dow", "last-dow", "nth-dow"]
    values: frozenset[int] = frozenset()
    n: int = 0
    nth: int = 0

    def matches(self, day: date) -> bool:
        """True when `day` (month and year already accepted) is one of the rule's days."""
        if self.kind == "dom":
            return day.day in self.values
        if self.kind == "dow":
            return aws_weekday(day) in self.values
        last = calendar.monthrange(day.year, day.month)[1]
        return _MATCHERS[self.kind](self, day, last)


def _nearest(rule: DayRule, day: date, last: int) -> bool:
    return rule.n <= last and day.day == nearest_weekday(day.year, day.month, rule.n, last)


_MATCHERS: dict[str, Callable[[DayRule, date, int], bool]] = {
    "last": lambda _rule, day, last: day.day == last,
    "last-weekday": lambda _rule, day, last: day.day == last_weekday(day.year, day.month, last),
    "nearest-weekday": _nearest,
    "last-dow": lambda rule, day, last: aws_weekday(day) == rule.n and day.day + 7 > last,
    "nth-dow": lambda rule, day, _last: (aws_weekday(day) == rule.n
                                        and (day.day - 1) // 7 + 1 == rule.nth),
}


@dataclass(frozen=True, slots=True)
class CronFields:
    """A validated AWS cron expression: sorted minutes and hours, months, years, a day rule."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: frozenset[int]
    years: frozenset[int]
    days: DayRule

    def day_matches(self, day: date) -> bool:
        return day.year in self.years and day.month in self.months and self.days.matches(day)


def aws_weekday(day: date) -> int:
    """AWS's day-of-week number of `day`: 1 = SUN … 7 = SAT."""
    return (day.weekday() + 1) % 7 + 1


def last_weekday(year: int, month: int, last: int) -> int:
    """The day number of the month's last Monday-Friday day (`LW`)."""
    weekday = date(year, month, last).weekday()
    return last - max(0, weekday - 4)


def nearest_weekday(year: int, month: int, n: int, last: int) -> int:
    """Quartz's `nW`: the weekday nearest day n, never leaving the month."""
    weekday = date(year, month, n).weekday()
    if weekday == 5:
        return n + 2 if n == 1 else n - 1
    if weekday == 6:
        return n - 2 if n == last else n + 1
    return n


def parse_cron(body: str) -> CronFields:
    """Parse the inside of `cron(...)`; raise CronError naming the field and the reason."""
    fields = body.upper().split()
    if len(fields) != 6:
        raise CronError(f"cron() needs 6 fields (minutes hours day-of-month month day-of-week "
                        f"year), got {len(fields)}")
    minute, hour, dom, month, dow, year = fields
    return CronFields(
        minutes=tuple(sorted(parse_values(minute, "minutes"))),
        hours=tuple(sorted(parse_values(hour, "hours"))),
        months=parse_values(month, "month"),
        years=parse_values(year, "year"),
        days=_day_rule(dom, dow),
    )


def _day_rule(dom: str, dow: str) -> DayRule:
    if dom == "?" and dow == "?":
        raise CronError("day-of-month and day-of-week cannot both be '?': one must choose days")
    if dom != "?" and dow != "?":
        raise CronError("one of day-of-month and day-of-week must be '?': AWS does not support "
                        f"setting both (got {dom!r} and {dow!r})")
    return _dom_rule(dom) if dow == "?" else _dow_rule(dow)


def _dom_rule(text: str) -> DayRule:
    if text == "L":
        return DayRule("last")
    if text == "LW":
        return DayRule("last-weekday")
    if text.endswith("W"):
        n = _number(text[:-1], "day-of-month", "'W' needs a single day before it, as in 15W")
        return DayRule("nearest-weekday", n=n)
    if "L" in text or "W" in text:
        raise CronError(f"day-of-month: {text!r}: 'L', 'LW' and 'nW' must stand alone")
    return DayRule("dom", parse_values(text, "day-of-month"))


def _dow_rule(text: str) -> DayRule:
    if text == "L":
        return DayRule("dow", frozenset({7}))
    if "#" in text:
        day, _, nth = text.partition("#")
        if "," in text or "-" in day or not nth.isdigit() or not 1 <= int(nth) <= 5:
            raise CronError(f"day-of-week: {text!r}: '#' takes one day and an instance 1-5 "
                            "(3#2 = second Tuesday), and no other values")
        return DayRule("nth-dow", n=_number(day, "day-of-week"), nth=int(nth))
    if text.endswith("L"):
        return DayRule("last-dow", n=_number(text[:-1], "day-of-week",
                                             "'L' after a day needs a single day, as in 6L"))
    if "L" in text:
        raise CronError(f"day-of-week: {text!r}: 'L' must stand alone or follow one day (6L)")
    return DayRule("dow", parse_values(text, "day-of-week"))


def parse_values(text: str, field: str) -> frozenset[int]:
    """A list of values, ranges and steps (`*`, `a`, `a-b`, `*/n`, `a/n`, `a-b/n`)."""
    if text == "?":
        raise CronError(f"{field}: '?' is only allowed in day-of-month or day-of-week")
    values: set[int] = set()
    for part in text.split(","):
        values.update(_parse_part(part, field))
    return frozenset(values)


def _parse_part(part: str, field: str) -> Iterable[int]:
    low, high = RANGES[field]
    base, slash, step_text = part.partition("/")
    step = 1
    if slash:
        if field in NO_STEP:
            raise CronError(f"{field}: '/' is not allowed in this field")
        if not step_text.isdigit() or int(step_text) == 0:
            raise CronError(f"{field}: {part!r}: the step after '/' must be a positive number")
        step = int(step_text)
    if base == "*":
        return range(low, high + 1, step)
    if "-" in base:
        first_text, _, last_text = base.partition("-")
        first, last = _number(first_text, field), _number(last_text, field)
        if first > last:
            return _wrapped(base, field, first, last, step)
        return range(first, last + 1, step)
    first = _number(base, field)
    return range(first, high + 1 if slash else first + 1, step)


def _wrapped(base: str, field: str, first: int, last: int, step: int) -> list[int]:
    """A backwards range `first-last` wrapped round its field (`22-2` is 22, 23, 0, 1, 2)."""
    if field in NO_WRAP:
        raise CronError(f"{field}: range {base!r} runs backwards (years do not wrap)")
    low, high = RANGES[field]
    size = high - low + 1
    return [low + (value - low) % size for value in range(first, last + size + 1, step)]


def _number(text: str, field: str, hint: str | None = None) -> int:
    names = NAMES.get(field, {})
    if text in names:
        return names[text]
    low, high = RANGES[field]
    if not text.isdigit():
        raise CronError(f"{field}: {text!r} is not a value" + (f" ({hint})" if hint else ""))
    value = int(text)
    if not low <= value <= high:
        raise CronError(f"{field}: {value} is outside {low}-{high}")
    return value
