"""The SQS consumer: long poll, bounded concurrency, visibility heartbeats, batch deletes.

Every message ends in one outcome, decided per message and acted on per batch (Powertools
batch style): `handled`/`ignored` are deleted with DeleteMessageBatch; `poison` (cannot be
decoded) and `retry` (handling failed) are never deleted — SQS redrive moves a message that
keeps failing to the DLQ. The consumer never dies of a bad message or an AWS error: it backs
off and goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog

from daemon.config.settings import QueueSettings
from daemon.events.pipeline import Outcome
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import backoff_delay, sleep_or_stop
from daemon.obs.metrics import EventMetrics

if TYPE_CHECKING:
    from types_aiobotocore_sqs.client import SQSClient
    from types_aiobotocore_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        DeleteMessageBatchRequestEntryTypeDef,
        ReceiveMessageResultTypeDef,
    )

    from daemon.aws.session import Connect

log = structlog.get_logger(__name__)
DELETABLE = frozenset({"handled", "ignored"})
ABANDON_SECONDS = 1.0  # how long a stopping consumer waits for a poll SQS is answering


@dataclass(slots=True)
class Received:
    """One SQS message in work."""

    message_id: str
    receipt: str
    body: str
    receive_count: int
    done: bool = False


class Handler(Protocol):
    """What a message body is handed to (`Pipeline`)."""

    async def handle(self, body: str, *, receive_count: int = 1) -> Outcome: ...


class Consumer:
    """Consumes AWS Backup events from `queue_url` into the pipeline."""

    name = "consumer"

    def __init__(self, queue_url: str, cfg: QueueSettings, sqs: Connect[SQSClient],
                 pipeline: Handler, *, metrics: EventMetrics, board: StatusBoard,
                 grace_seconds: float) -> None:
        self._sqs = sqs
        self._pipeline = pipeline
        self._queue_url = queue_url
        self._cfg = cfg
        self._metrics = metrics
        self._board = board
        self._grace = grace_seconds
        self._slots = asyncio.Semaphore(self._cfg.concurrency)
        self._batches: set[asyncio.Task[None]] = set()
        self._in_flight: dict[str, Received] = {}
        self.processed = 0
        self._verified = False
        self._set_up(False, "starting")

    async def run(self, stop: asyncio.Event) -> None:
        sqs = await self._sqs()
        errors = 0
        try:
            while not stop.is_set():
                try:
                    if not self._verified:
                        # Ready as soon as the queue answers, not after a first 20 s long poll.
                        await sqs.get_queue_attributes(QueueUrl=self._queue_url,
                                                       AttributeNames=["QueueArn"])
                        self._verified = True
                        self._set_up(True)
                    messages = await self._receive(sqs, stop)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    errors += 1
                    self._set_up(False, f"SQS {self._queue_url} failed: {exc}")
                    log.warning("consumer.receive_failed", error=str(exc), attempt=errors)
                    await sleep_or_stop(
                        backoff_delay(errors, cap=self._cfg.error_backoff_max_seconds), stop)
                    continue
                errors = 0
                self._set_up(True)
                if messages:
                    self._start_batch(sqs, messages)
                    if len(messages) < self._cfg.max_messages and self._cfg.batch_window_seconds:
                        # Like Lambda's MaximumBatchingWindowInSeconds: a trickle of events
                        # is taken in fuller batches rather than one ReceiveMessage each.
                        await sleep_or_stop(self._cfg.batch_window_seconds, stop)
        finally:
            await self._drain(sqs)

    async def run_once(self) -> int:
        """Receive and fully handle one batch (tests); returns how many messages came."""
        sqs = await self._sqs()
        messages = await self._receive(sqs, asyncio.Event())
        if messages:
            await self._handle_batch(sqs, messages)
        return len(messages)

    def _set_up(self, up: bool, detail: str | None = None) -> None:
        self._metrics.consumer_up(up)
        self._board.set_health("consumer", up, detail)

    async def _receive(self, sqs: SQSClient, stop: asyncio.Event) -> list[Received]:
        # Wait for a free slot before polling, so a batch never waits in memory unhandled.
        await self._slots.acquire()
        self._slots.release()
        call = asyncio.ensure_future(sqs.receive_message(
            QueueUrl=self._queue_url, MaxNumberOfMessages=self._cfg.max_messages,
            WaitTimeSeconds=self._cfg.wait_seconds,
            VisibilityTimeout=self._cfg.visibility_timeout_seconds,
            MessageSystemAttributeNames=["ApproximateReceiveCount"],
        ))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({call, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
        if not call.done():
            await self._abandon(sqs, call)
            return []
        return _received(call.result())

    async def _abandon(self, sqs: SQSClient,
                       call: asyncio.Future[ReceiveMessageResultTypeDef]) -> None:
        """Stopping with a poll open. A poll SQS is answering (the queue holds messages)
        returns within moments: what it got goes straight back (visibility 0) instead of
        staying invisible for a visibility timeout. A poll still waiting on an empty queue
        is abandoned; anything SQS hands out at that very moment reappears after its
        visibility timeout, so nothing is lost either way."""
        done, _ = await asyncio.wait({call}, timeout=ABANDON_SECONDS)
        if not done:
            call.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await call
            return
        if call.exception() is None and (handed := _received(call.result())):
            await self._change_visibility(sqs, handed, 0)
            log.info("consumer.poll_handed_back", messages=len(handed))

    def _start_batch(self, sqs: SQSClient, messages: Sequence[Received]) -> None:
        task = asyncio.get_running_loop().create_task(self._handle_batch(sqs, messages))
        self._batches.add(task)
        task.add_done_callback(self._batches.discard)

    async def _handle_batch(self, sqs: SQSClient, messages: Sequence[Received]) -> None:
        for m in messages:
            self._in_flight[m.receipt] = m
        self._metrics.in_flight(len(self._in_flight))
        heartbeat = asyncio.get_running_loop().create_task(self._heartbeat(sqs, messages))
        try:
            outcomes = await asyncio.gather(*(self._handle(m) for m in messages))
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        done = [m for m, outcome in zip(messages, outcomes, strict=True) if outcome in DELETABLE]
        if done:
            await self._delete(sqs, done)
        for m in messages:
            m.done = True
            self._in_flight.pop(m.receipt, None)
        self._metrics.in_flight(len(self._in_flight))
        self.processed += len(messages)

    async def _handle(self, m: Received) -> Outcome:
        async with self._slots:
            with structlog.contextvars.bound_contextvars(message_id=m.message_id):
                return await self._pipeline.handle(m.body, receive_count=m.receive_count)

    async def _delete(self, sqs: SQSClient, done: Sequence[Received]) -> None:
        entries: list[DeleteMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": m.receipt} for i, m in enumerate(done)]
        try:
            resp = await sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)
        except Exception as exc:
            # Not deleted means delivered again later; the tracker makes that a no-op.
            log.warning("consumer.delete_failed", error=str(exc), count=len(entries))
            return
        for failed in resp.get("Failed", []):
            log.warning("consumer.delete_failed", entry=failed.get("Id"),
                        code=failed.get("Code"), reason=failed.get("Message"))

    async def _heartbeat(self, sqs: SQSClient, messages: Sequence[Received]) -> None:
        """Extend the visibility of messages still in work, every third of the timeout."""
        timeout = self._cfg.visibility_timeout_seconds
        while True:
            await asyncio.sleep(timeout / 3)
            pending = [m for m in messages if not m.done]
            if not pending:
                return
            await self._change_visibility(sqs, pending, timeout)

    async def _change_visibility(self, sqs: SQSClient, messages: Sequence[Received],
                                 seconds: int) -> None:
        entries: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": str(i), "ReceiptHandle": m.receipt, "VisibilityTimeout": seconds}
            for i, m in enumerate(messages)]
        for start in range(0, len(entries), 10):
            try:
                await sqs.change_message_visibility_batch(
                    QueueUrl=self._queue_url, Entries=entries[start:start + 10])
            except Exception as exc:
                log.warning("consumer.visibility_failed", error=str(exc), seconds=seconds)

    async def _drain(self, sqs: SQSClient) -> None:
        """Shutdown: let batches in work finish within the grace budget, release the rest."""
        if not self._batches:
            return
        budget = self._grace * 0.5
        _, pending = await asyncio.wait(set(self._batches), timeout=budget)
        for task in pending:
            task.cancel()
        left = [m for m in self._in_flight.values() if not m.done]
        if left:
            # Visibility 0 hands them straight to another replica (or our next start).
            await self._change_visibility(sqs, left, 0)
        log.info("consumer.drained", finished=self.processed, released=len(left))


def _received(resp: ReceiveMessageResultTypeDef) -> list[Received]:
    return [Received(m["MessageId"], m["ReceiptHandle"], m.get("Body", ""),
                     int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")))
            for m in resp.get("Messages", [])]
