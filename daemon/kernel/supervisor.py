"""Supervision of the daemon's long-running components under one asyncio.TaskGroup."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class Component(Protocol):
    """A long-running part of the daemon: `run` loops until `stop` is set, then returns."""

    name: str

    async def run(self, stop: asyncio.Event) -> None: ...


async def sleep_or_stop(seconds: float, stop: asyncio.Event) -> bool:
    """Wait up to `seconds`; return True at once if `stop` is (or becomes) set."""
    if stop.is_set():
        return True
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
    except TimeoutError:
        return False
    return True


def backoff_delay(attempt: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Full-jitter exponential backoff (AWS Architecture Blog), attempt counted from 1."""
    return random.uniform(0, min(cap, base * 2 ** max(0, attempt - 1)))  # noqa: S311


async def repeat(one_pass: Callable[[], Awaitable[object]], stop: asyncio.Event, *,
                 interval: float, failed: Callable[[Exception, int], None]) -> None:
    """Run `one_pass` every `interval` seconds until `stop`. A pass that raises is handed to
    `failed` (with the count of failures in a row, to count and log it) and tried again after
    a jittered backoff (2 s doubling, at most 60 s) instead of the interval."""
    attempt = 0
    while not stop.is_set():
        try:
            await one_pass()
        except Exception as exc:
            attempt += 1
            failed(exc, attempt)
            await sleep_or_stop(backoff_delay(attempt, base=2.0, cap=60.0), stop)
            continue
        attempt = 0
        await sleep_or_stop(interval, stop)


async def guard(component: Component, stop: asyncio.Event, *, restart_cap: float = 60.0) -> None:
    """Run one component until `stop`; a crash or an unexpected return is logged and restarted."""
    attempt = 0
    while not stop.is_set():
        try:
            await component.run(stop)
        except asyncio.CancelledError:
            raise
        except Exception:
            attempt += 1
            delay = backoff_delay(attempt, cap=restart_cap)
            log.exception("component.crashed", component=component.name, attempt=attempt,
                          restart_in_seconds=round(delay, 2))
        else:
            if stop.is_set():
                return
            attempt += 1
            delay = backoff_delay(attempt, cap=restart_cap)
            log.error("component.finished_unexpectedly", component=component.name,
                      restart_in_seconds=round(delay, 2))
        if await sleep_or_stop(delay, stop):
            return


async def supervise(components: Sequence[Component], stop: asyncio.Event) -> None:
    """Run every component under one TaskGroup until `stop` is set and all have returned."""
    async with asyncio.TaskGroup() as tg:
        for component in components:
            tg.create_task(guard(component, stop), name=component.name)
