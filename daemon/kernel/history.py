"""A short memory of the bytes backing up now: one sample per interval, the last 120 kept.

The status page draws it (an hour at the default 30 s). In memory only, like the tracker it
samples: a restart starts it again, and a follower's is flat (only the leader tracks jobs).
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import datetime

from daemon.core.clock import Clock
from daemon.core.events.tracker import JobTable
from daemon.kernel.status_model import MAX_HISTORY, History, HistoryPoint
from daemon.kernel.supervisor import sleep_or_stop


class RunningHistory:
    """Samples the tracker's running bytes and jobs every `interval_seconds` (a component)."""

    name = "history"

    def __init__(self, tracker: JobTable, clock: Clock, interval_seconds: float) -> None:
        self._tracker = tracker
        self._clock = clock
        self.interval_seconds = interval_seconds
        self._points: deque[tuple[datetime, int, int]] = deque(maxlen=MAX_HISTORY)

    def run_once(self) -> None:
        """Take one sample."""
        self._points.append((self._clock.now(), self._tracker.running_bytes_total(),
                             self._tracker.running_jobs_total()))

    async def run(self, stop: asyncio.Event) -> None:
        self.run_once()
        while not await sleep_or_stop(self.interval_seconds, stop):
            self.run_once()

    def status(self) -> History:
        """The `/status` section: the samples, oldest first."""
        return History(interval_seconds=self.interval_seconds, points=[
            HistoryPoint(at=at, running_bytes=size, running_jobs=jobs)
            for at, size, jobs in self._points])
