"""Reading something the demo shows while the demo stands still.

The demo keeps moving (jobs start and end, alerts are raised), so a page or a command output
is compared with /status only when /status read before it and after it shows the same: then
what was read in between saw that state too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.processes import get_json

TRIES = 30


@dataclass(frozen=True)
class Demo:
    """The running demo: its URL and the file its output goes to."""

    url: str
    output: Path


def visible(doc: dict[str, Any]) -> dict[str, Any]:
    """What the page and the commands show of /status, but what moves with the clock alone
    (the time of the document, uptime, ages, the history's samples)."""
    jobs, tasks, alerts = doc["jobs"], doc.get("tasks"), doc["alerts"]
    return {
        "ready": doc["ready"], "limit": doc["limit"], "components": doc["components"],
        "leader": doc["leader"]["leader"], "errors": doc["errors"],
        "jobs": (jobs["running"], jobs["running_bytes"],
                 [(j["job_id"], j["state"], j["size_bytes"]) for j in jobs["largest"]]),
        "schedules": doc.get("schedules"),
        "tasks": tasks,
        "alerts": (alerts["pending"], [(a["at"], a["subject"], a["delivery"])
                                       for a in alerts["recent"]]),
        "attention": sorted(attention(doc), key=str),
        "coverage": (doc.get("coverage") or {}).get("tables"),
    }


def attention(doc: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    """(table, schedule, state) of every table /status names as needing attention: the late
    and never backed-up tables of each schedule, and the tables of each coverage gap."""
    found: list[tuple[str, str | None, str]] = []
    for name, schedule in ((doc.get("freshness") or {}).get("schedules") or {}).items():
        found += [(t["table"], name, "never" if t["last_backup"] is None else "late")
                  for t in schedule["late_tables"]]
    for gap, listed in ((doc.get("coverage") or {}).get("gaps") or {}).items():
        found += [(t if isinstance(t, str) else t["table"], None, gap) for t in listed["tables"]]
    return found


def steady[T](base: str, read: Callable[[], T]) -> tuple[dict[str, Any], T]:
    """(/status, what `read` returned) from a moment when /status stood still around it."""
    for _ in range(TRIES):
        before = get_json(f"{base}/status")
        value = read()
        after = get_json(f"{base}/status")
        if visible(before) == visible(after):
            return after, value
    pytest.fail(f"/status never stood still around a read ({TRIES} tries)")


async def steady_async[T](base: str, read: Callable[[], Awaitable[T]],
                          ) -> tuple[dict[str, Any], dict[str, Any], T]:
    """(/status before, /status after, what `read` returned), /status standing still."""
    for _ in range(TRIES):
        before = await asyncio.to_thread(get_json, f"{base}/status")
        value = await read()
        after = await asyncio.to_thread(get_json, f"{base}/status")
        if visible(before) == visible(after):
            return before, after, value
    pytest.fail(f"/status never stood still around a read ({TRIES} tries)")
