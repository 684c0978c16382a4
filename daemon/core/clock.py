"""Wall time is passed in, never read inside a decision: tests use a fake clock.

Times leave the daemon (`/status`, the operator commands) in one format, `rfc3339`: RFC 3339
in UTC with a `Z` and whole seconds, e.g. `2026-12-04T13:08:15Z`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Source of aware UTC wall-clock time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FakeClock:
    """A clock that only moves when told to (tests, simulations, benchmarks)."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def aware_time(value: object) -> datetime:
    """A time AWS returned, as an aware datetime (naive ones are UTC)."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


def rfc3339(moment: datetime) -> str:
    """`moment` as RFC 3339 in UTC, whole seconds, with `Z`: `2026-12-04T13:08:15Z`
    (a naive time is taken as UTC)."""
    utc = aware_time(moment).astimezone(UTC).replace(microsecond=0, tzinfo=None)
    return utc.isoformat() + "Z"
