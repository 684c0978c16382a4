"""Values written for people, one way everywhere: bytes in binary units and short durations.

Alert subjects, `ddb-backupd status|get` and the status page (whose JavaScript mirrors these
two functions, halves rounded up as its `Math.round` does) all write `89.0 GiB` and `4m20s`.
"""

from __future__ import annotations

UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def human_bytes(n: int | None) -> str:
    """`66.0 GiB`: binary units, one decimal (whole bytes below 1 KiB); `-` for None."""
    if n is None:
        return "-"
    value, unit = float(n), 0
    while abs(value) >= 1024 and unit < len(UNITS) - 1:
        value /= 1024
        unit += 1
    if unit == 0:
        return f"{n} B"
    return f"{_half_up(value * 10) / 10:.1f} {UNITS[unit]}"


def duration(seconds: float | None) -> str:
    """`3d4h`, `2h5m`, `4m20s`, `7s`: the two largest units; `-` for None."""
    if seconds is None:
        return "-"
    s = max(0, _half_up(seconds))
    days, hours, minutes, s = s // 86400, s % 86400 // 3600, s % 3600 // 60, s % 60
    if days:
        return f"{days}d{hours}h"
    if hours:
        return f"{hours}h{minutes}m"
    if minutes:
        return f"{minutes}m{s}s"
    return f"{s}s"


def _half_up(value: float) -> int:
    """The nearest integer, halves away from zero."""
    return int(value + 0.5) if value >= 0 else -int(-value + 0.5)
