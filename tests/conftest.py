"""Shared fixtures: the local AWS stand-in (tests/fixtures/standin.py) and the task-leak guard."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator

import pytest

pytest_plugins = ["tests.fixtures.standin"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every coroutine test runs under the task-leak guard."""
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and inspect.iscoroutinefunction(function):
            item.add_marker(pytest.mark.usefixtures("no_leaked_tasks"))


@pytest.fixture
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail any test that leaves an asyncio task running behind it (kopf's guard)."""
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)
    leaked = [t for t in asyncio.all_tasks() - before
              if not t.done() and t is not asyncio.current_task()]
    for task in leaked:
        task.cancel()
    if leaked:
        await asyncio.gather(*leaked, return_exceptions=True)
        names = sorted(t.get_name() + ":" + repr(t.get_coro()) for t in leaked)
        pytest.fail(f"test leaked {len(leaked)} asyncio task(s): {names}")
