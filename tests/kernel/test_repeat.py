"""`repeat`, the periodic loop of the reconcilers: a pass every interval, a failed pass handed
to its owner with the count of failures in a row and retried after a backoff."""

from __future__ import annotations

import asyncio

import pytest

from daemon.kernel import supervisor
from daemon.kernel.supervisor import repeat


async def test_failures_are_counted_in_a_row_and_a_success_resets_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    real_sleep = supervisor.sleep_or_stop

    async def recorded(seconds: float, stop: asyncio.Event) -> bool:
        waits.append(seconds)
        return await real_sleep(0, stop)

    monkeypatch.setattr(supervisor, "sleep_or_stop", recorded)
    monkeypatch.setattr(supervisor, "backoff_delay", lambda attempt, base, cap: -attempt)
    stop = asyncio.Event()
    outcomes = [ValueError("a"), ValueError("b"), None, ValueError("c"), None]
    failures: list[tuple[str, int]] = []

    async def one_pass() -> None:
        outcome = outcomes.pop(0)
        if not outcomes:
            stop.set()
        if outcome is not None:
            raise outcome

    await repeat(one_pass, stop, interval=30.0,
                 failed=lambda exc, attempt: failures.append((str(exc), attempt)))
    assert failures == [("a", 1), ("b", 2), ("c", 1)]
    assert waits == [-1, -2, 30.0, -1, 30.0]


async def test_a_stop_ends_the_loop_during_the_interval() -> None:
    stop = asyncio.Event()
    passes = 0

    async def one_pass() -> None:
        nonlocal passes
        passes += 1
        asyncio.get_running_loop().call_soon(stop.set)

    await asyncio.wait_for(repeat(one_pass, stop, interval=3600.0,
                                  failed=lambda exc, attempt: None), timeout=5)
    assert passes == 1
