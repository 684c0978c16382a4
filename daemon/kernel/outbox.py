"""The SNS alert publisher: a bounded outbox drained by one component.

`submit` never blocks and never raises, so no caller (the event loop, the scheduler) can be
held up by an SNS outage. A publish that fails transiently (throttled, 5xx, no connection) is
retried with backoff while the outbox holds it. An alert SNS refuses for good (an invalid
parameter, access or the topic's KMS key denied, no such topic) is dropped, logged with AWS's
error code and counted, and the next alert goes out: retrying it would only hold back every
alert behind it. The oldest alert is also dropped (counted) when the outbox overflows.
The last alerts raised, with when and how their delivery went, are the `alerts` section of
`/status`.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

import structlog

from daemon.aws.errors import error_code, permanent
from daemon.core.alerts import Alert
from daemon.core.clock import Clock, SystemClock
from daemon.kernel.status_model import MAX_ALERTS, AlertLine, Alerts
from daemon.kernel.supervisor import backoff_delay, sleep_or_stop
from daemon.obs.metrics import Metrics

if TYPE_CHECKING:
    from types_aiobotocore_sns.client import SNSClient

    from daemon.aws.session import Connect

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Raised:
    """One alert raised: when, and how its delivery went."""

    alert: Alert
    at: datetime
    delivery: Literal["pending", "published", "dropped"] = "pending"


class AlertOutbox:
    """Alerts waiting to be published; `run` publishes them to SNS in order."""

    name = "alerts"

    def __init__(self, topic_arn: str | None, metrics: Metrics, sns: Connect[SNSClient],
                 *, capacity: int = 1000, clock: Clock | None = None) -> None:
        self._topic_arn = topic_arn
        self._metrics = metrics
        self._sns = sns
        self._clock = clock or SystemClock()
        self._queue: deque[Raised] = deque()
        self._capacity = capacity
        self._wake = asyncio.Event()
        self.sent: deque[Alert] = deque(maxlen=50)
        self.recent: deque[Raised] = deque(maxlen=MAX_ALERTS)

    def submit(self, alert: Alert) -> None:
        """Queue an alert; never blocks. The oldest waiting alert is dropped on overflow."""
        log.warning("alert.raised", severity=alert.severity, alert_event=alert.event,
                    subject=alert.subject)
        if len(self._queue) >= self._capacity:
            dropped = self._queue.popleft()
            dropped.delivery = "dropped"
            self._metrics.alerts.dropped("overflow")
            log.warning("alert.dropped", reason="overflow", alert_event=dropped.alert.event,
                        subject=dropped.alert.subject)
        raised = Raised(alert, self._clock.now())
        self._queue.append(raised)
        self.recent.append(raised)
        self._wake.set()

    def pending(self) -> int:
        return len(self._queue)

    def status(self) -> Alerts:
        """The `/status` section: alerts waiting, and the last ones raised, newest first."""
        return Alerts(pending=len(self._queue), recent=[
            AlertLine(at=r.at, severity=r.alert.severity, event=r.alert.event,
                      subject=r.alert.subject, delivery=r.delivery)
            for r in reversed(self.recent)])

    async def run(self, stop: asyncio.Event) -> None:
        attempt = 0
        while not stop.is_set():
            if not self._queue:
                self._wake.clear()
                waiter = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
                continue
            if await self.run_once():
                attempt = 0
            else:
                attempt += 1
                await sleep_or_stop(backoff_delay(attempt, cap=30.0), stop)
        await self.flush(budget_seconds=2.0)

    async def run_once(self) -> bool:
        """Publish the oldest waiting alert. True when it has left the outbox (published, or
        refused for good and dropped); False when it failed transiently and waits its retry."""
        raised = self._queue[0]
        alert = raised.alert
        try:
            await self._publish(alert)
        except Exception as exc:
            if permanent(exc):
                self._remove(raised)
                raised.delivery = "dropped"
                self._metrics.alerts.dropped("refused")
                log.error("alert.dropped", reason="refused", code=error_code(exc),  # noqa: TRY400 - AWS's answer is the whole story
                          alert_event=alert.event, subject=alert.subject, error=str(exc))
                return True
            self._metrics.alerts.failed(alert.severity)
            log.warning("alert.publish_failed", alert_event=alert.event, error=str(exc))
            return False
        self._remove(raised)
        raised.delivery = "published"
        self.sent.append(alert)
        self._metrics.alerts.published(alert.severity)
        return True

    def _remove(self, raised: Raised) -> None:
        """Take `raised` off the head, unless an overflow dropped it while it was published."""
        if self._queue and self._queue[0] is raised:
            self._queue.popleft()

    async def flush(self, budget_seconds: float) -> None:
        """Best-effort publish of what is left, bounded in time (shutdown)."""
        try:
            async with asyncio.timeout(budget_seconds):
                while self._queue and await self.run_once():
                    pass
        except TimeoutError:
            log.warning("alert.flush_incomplete", left=len(self._queue))

    async def _publish(self, alert: Alert) -> None:
        if not self._topic_arn:
            return
        sns = await self._sns()
        await sns.publish(
            TopicArn=self._topic_arn, Subject=alert.subject,  # made fit for SNS by Alert
            Message=json.dumps({"event": alert.event, "severity": alert.severity, **alert.body},
                               default=str, sort_keys=True),
            MessageAttributes={
                "severity": {"DataType": "String", "StringValue": alert.severity},
                "event": {"DataType": "String", "StringValue": alert.event},
            })
