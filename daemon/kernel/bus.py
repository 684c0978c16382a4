"""In-process fan-out of "a backup completed" to the features that act on it (restores, exports).

The event pipeline publishes when the tracker sees a backup job COMPLETED; the scheduler
publishes when a native backup it made turns AVAILABLE. Subscribers must not block: each
handler runs as its own task and its failures are logged, never raised into the publisher.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import structlog

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class BackupCompleted:
    """A completed backup of one resource, whichever way it was made."""

    recovery_point_arn: str
    resource_arn: str
    resource_type: str
    created: datetime
    origin: Literal["event", "scheduler", "rescan"]
    vault: str | None = None
    job_id: str | None = None
    region: str | None = None
    size_bytes: int | None = None


Handler = Callable[[BackupCompleted], Awaitable[None]]


class CompletionBus:
    """Subscribers get every BackupCompleted; a slow or failing subscriber hurts no one."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def subscribe(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def publish(self, item: BackupCompleted) -> None:
        for handler in self._handlers:
            task = asyncio.get_running_loop().create_task(self._call(handler, item))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _call(self, handler: Handler, item: BackupCompleted) -> None:
        try:
            await handler(item)
        except Exception:
            log.exception("bus.handler_failed", recovery_point_arn=item.recovery_point_arn)

    async def drain(self) -> None:
        """Wait for the handlers already started (shutdown)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
