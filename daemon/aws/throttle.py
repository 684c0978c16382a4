"""One gate for the scheduler's control-plane calls: a rate limit and a concurrency limit.

AWS's control-plane quotas (CreateBackup, ListBackups, StartBackupJob, DescribeTable...)
are a few to tens of calls per second per account; botocore's adaptive retries soften a
throttle but do not prevent a 10 000-table burst. Every call of the scheduler, discovery
and retention goes through one `Throttle`, so together they stay under the configured rate.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiolimiter import AsyncLimiter


class Throttle:
    """`await throttle.call(fn, **kwargs)`: waits for a rate token and a free slot."""

    def __init__(self, calls_per_second: float, concurrency: int) -> None:
        if calls_per_second >= 1:
            self._limiter = AsyncLimiter(calls_per_second, 1)
        else:  # aiolimiter's bucket must hold one whole call
            self._limiter = AsyncLimiter(1, 1 / calls_per_second)
        self._slots = asyncio.Semaphore(concurrency)

    async def call[**P, R](self, fn: Callable[P, Awaitable[R]], *args: P.args,
                           **kwargs: P.kwargs) -> R:
        """`fn(*args, **kwargs)` once a token and a slot are free: typed as `fn` is."""
        async with self._slots:
            await self._limiter.acquire()
            return await fn(*args, **kwargs)
