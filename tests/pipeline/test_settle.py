"""`settle()` and `drain()` return once the work they wait for is done, whatever the loop's
order of callbacks: a finished task leaves its set by a done-callback that runs one loop turn
later, and awaiting a gather of finished tasks does not yield (Python 3.12 completes it
eagerly), so a loop on "the set is not empty" would spin forever and starve everything else
on the event loop (the HTTP server, the SQS consumer)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

from daemon.tasks.runner import TaskRunner
from tests.pipeline.helpers import context, settings


def returns_within(seconds: float, scenario: Callable[[], Awaitable[None]]) -> bool:
    """Run `scenario` on its own loop in a thread; False if it has not returned in time
    (a loop that never yields cannot be timed out from inside it)."""
    finished = threading.Event()

    def target() -> None:
        asyncio.run(scenario())  # type: ignore[arg-type]
        finished.set()

    threading.Thread(target=target, daemon=True, name="settle-probe").start()
    return finished.wait(seconds)


def test_settle_returns_when_a_lookup_finished_but_has_not_left_the_set_yet() -> None:
    async def scenario() -> None:
        async with context(settings()) as (_env, pipeline):
            pipeline._size_later("job-1", None)  # the path under test
            await asyncio.sleep(0)  # the lookup runs and ends; its discard runs next turn
            await pipeline.settle()

    assert returns_within(10, scenario), "settle() spun on a finished lookup"


def test_drain_returns_when_a_task_was_cancelled_before_it_ever_ran() -> None:
    async def scenario() -> None:
        async with context(settings()) as (env, _pipeline):
            runner = TaskRunner(env.settings.tasks, clock=env.clock, metrics=env.metrics.tasks,
                                alerts=env.alerts)
            runner._accepting.set()  # as run() does on the leader

            async def body(_task: object) -> str:
                return "succeeded"

            assert runner.submit("k", "restore", "rule", "t", body)  # type: ignore[arg-type]
            runner.cancel("k")  # cancelled before its first step: its finally never runs,
            # yet its key must be free again afterwards
            await runner.drain()
            assert runner.submit("k", "restore", "rule", "t", body)  # type: ignore[arg-type]
            await runner.drain()

    assert returns_within(10, scenario), "drain() spun on a cancelled task"
