"""What every benchmark shares: the figure record, targets, timing, the table, running alone.

A figure is a plain dict so `results.json` is just a list of them keyed by name:
`{"value", "unit", "baseline", "baseline_unit", "ratio", "target", "ok", "note"}`.
`ok` is True/False against the target, or None when a figure could not be measured (a
benchmark missing or broken): the suite then says so and fails, since an absent figure
proves nothing. Every benchmark module exposes `run() -> list[Figure]`.
"""

from __future__ import annotations

import gc
import math
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Figure = dict[str, Any]
ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Target:
    """A goal such as `>= 50000` or `< 1`; `None` limit means the figure is only reported."""

    op: str
    limit: float | None = None

    def met(self, value: float) -> bool:
        if self.limit is None:
            return True
        return {">=": value >= self.limit, ">": value > self.limit, "<=": value <= self.limit,
                "<": value < self.limit}[self.op]

    def __str__(self) -> str:
        if self.limit is None:
            return "(reported)"
        return f"{self.op} {num(self.limit)}"


REPORTED = Target("", None)


def figure(key: str, value: float, unit: str, target: Target, *, baseline: float | None = None,
           baseline_unit: str | None = None, ratio: float | None = None, note: str = "",
           **details: Any) -> Figure:
    """One measured figure, checked against its target."""
    return {"key": key, "value": _round(value), "unit": unit, "baseline": _round(baseline),
            "baseline_unit": baseline_unit or (unit if baseline is not None else None),
            "ratio": _round(ratio), "target": str(target), "ok": target.met(value),
            "note": note, **details}


def missing(key: str, why: str, target: str = "") -> Figure:
    """A figure that could not be measured: shown as MISSING, never as a pass."""
    return {"key": key, "value": None, "unit": "", "baseline": None, "baseline_unit": None,
            "ratio": None, "target": target, "ok": None, "note": f"MISSING: {why}"}


def best_of(fn: Callable[[], object], repeat: int,
            clock: Callable[[], float] = time.process_time) -> float:
    """Fastest of `repeat` timed calls in seconds (the least disturbed by the machine's noise).

    CPU time by default: on a shared machine wall time also counts the other processes that
    ran on our core, which says nothing about the daemon. The garbage collector stays on: the
    daemon runs with it, so its cost is part of the figure.
    """
    times = []
    for _ in range(repeat):
        gc.collect()
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def percentile(values: Sequence[float], pct: float) -> float:
    """The nearest-rank percentile (p99 of 200 samples is the 198th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def machine() -> dict[str, Any]:
    """Cores and CPU model, for the table's heading (figures mean little without them)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os  # noqa: PLC0415 - only here

    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform()}


def rss_bytes(pid: int | str = "self") -> int:
    """VmRSS of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def table(figures: Sequence[Figure]) -> str:
    """The figures as an aligned text table."""
    rows = [("key", "value", "unit", "baseline", "ratio", "target", "ok")]
    for f in figures:
        ok = {True: "ok", False: "MISSED", None: "MISSING"}[f["ok"]]
        base = "" if f["baseline"] is None else f"{num(f['baseline'])} {f['baseline_unit'] or ''}"
        rows.append((f["key"], "-" if f["value"] is None else num(f["value"]), f["unit"],
                     base.strip(), "" if f["ratio"] is None else num(f["ratio"]),
                     f["target"], ok))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [f"  {f['key']}: {f['note']}" for f in figures if f.get("note")]
    return "\n".join(lines + (["", "notes:", *notes] if notes else []))


def main(run: Callable[[], list[Figure]]) -> int:
    """Run one benchmark alone: print its table; exit 1 if a target is missed or missing."""
    figures = run()
    print(table(figures))
    return 0 if all(f["ok"] for f in figures) else 1


def exit_with(run: Callable[[], list[Figure]]) -> None:
    sys.exit(main(run))


def _round(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, int) or abs(value) >= 100:
        return round(value, 1) if not isinstance(value, int) else value
    return float(f"{value:.4g}")


def num(value: float) -> str:
    if isinstance(value, int) or (float(value).is_integer() and abs(value) >= 1):
        return f"{int(value):,}".replace(",", " ")
    if abs(value) >= 100:
        return f"{value:,.0f}".replace(",", " ")
    return f"{value:.3g}"
