"""The SQS consumer over HTTP against the stand-in: what is deleted, what stays, what survives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from structlog.testing import capture_logs

from daemon.events.pipeline import Outcome
from tests.pipeline.helpers import backup_event, context, settings

pytestmark = pytest.mark.e2e

POISON = [
    "not json at all",
    '{"Type": "Notification", "Message": "{\\"truncated',
    json.dumps({"version": "0", "source": "aws.ec2", "detail-type": "EC2 Instance State-change"}),
    json.dumps({"detail-type": "Backup Job State Change", "source": "aws.backup",
                "detail": {"state": 42}}),
    "[" * 5000,
]


def sqs_client(env: dict[str, str]) -> Any:
    return boto3.client("sqs", region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"])


def queue_depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"])


async def test_handled_messages_are_deleted_and_poison_stays_for_redrive(
        aws_env: dict[str, str], make_queue: Callable[..., str]) -> None:
    url = make_queue(dlq=True)
    sqs = sqs_client(aws_env)
    good = [backup_event("job-1", "RUNNING", size=100), backup_event("job-2", "RUNNING", size=50),
            backup_event("job-1", "COMPLETED", size=120)]
    for body in [*good, *POISON]:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    async with context(settings(queue_url=url)) as (env, pipeline):
        consumer = env.consumer(pipeline)
        with capture_logs() as logs:
            while consumer.processed < len(good) + len(POISON):
                await consumer.run_once()
        value = env.metrics.registry.get_sample_value
        assert value("backupd_events_total", {"kind": "backup_job", "outcome": "handled"}) == 3
        assert value("backupd_events_total", {"kind": "unknown", "outcome": "poison"}) == len(POISON)
        assert env.tracker.running_jobs_total() == 1
        assert env.tracker.running_bytes_total() == 50
        calls = {op: value("backupd_aws_api_calls_total",
                           {"service": "sqs", "operation": op, "outcome": "ok"})
                 for op in ("ReceiveMessage", "DeleteMessageBatch")}
        assert all(count and count >= 1 for count in calls.values()), calls
    assert queue_depth(sqs, url) == len(POISON)
    rejected = [e for e in logs if e["event"] == "message.rejected"]
    assert len(rejected) == len(POISON)
    assert all(e["reason"] and e["outcome"] == "poison" for e in rejected)


async def test_consumer_survives_aws_errors_and_reports_not_ready(aws_env: dict[str, str]) -> None:
    missing = aws_env["AWS_ENDPOINT_URL"] + "/123456789012/no-such-queue"
    async with context(settings(queue_url=missing)) as (env, pipeline):
        consumer = env.consumer(pipeline)
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        await asyncio.sleep(1.5)
        assert not task.done(), "the consumer died of an AWS error"
        assert env.board.health["consumer"].ready is False
        assert "no-such-queue" in (env.board.health["consumer"].detail or "")
        assert env.metrics.registry.get_sample_value("backupd_consumer_up") == 0
        assert env.metrics.registry.get_sample_value("backupd_aws_api_calls_total", {
            "service": "sqs", "operation": "GetQueueAttributes", "outcome": "client_error"}) >= 1
        stop.set()
        await asyncio.wait_for(task, 5)


class BlockingPipeline:
    """A pipeline whose handling never finishes on its own (a stuck downstream)."""

    def __init__(self) -> None:
        self.started = 0

    async def handle(self, body: str, *, receive_count: int = 1) -> Outcome:
        del body, receive_count
        self.started += 1
        await asyncio.Event().wait()
        return "handled"


async def test_shutdown_releases_unfinished_messages_at_once(
        aws_env: dict[str, str], make_queue: Callable[..., str]) -> None:
    url = make_queue()
    sqs = sqs_client(aws_env)
    for i in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=backup_event(f"job-{i}", "RUNNING"))
    async with context(settings(queue_url=url, shutdown_grace_seconds=1)) as (env, _):
        blocking = BlockingPipeline()
        consumer = env.consumer(blocking)  # type: ignore[arg-type]
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        while blocking.started < 2:
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 5)
    visible = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"]
    assert int(visible) == 2, "unfinished messages must be visible again right after shutdown"


class SlowPipeline:
    """Handles each message after `seconds`, longer than the visibility timeout."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def handle(self, body: str, *, receive_count: int = 1) -> Outcome:
        del body, receive_count
        await asyncio.sleep(self.seconds)
        return "handled"


async def test_visibility_is_extended_while_a_message_is_in_work(
        aws_env: dict[str, str], make_queue: Callable[..., str]) -> None:
    url = make_queue()
    sqs = sqs_client(aws_env)
    sqs.send_message(QueueUrl=url, MessageBody=backup_event("job-slow", "RUNNING"))
    s = settings(queue_url=url, queue={"visibility_timeout_seconds": 2})
    async with context(s) as (env, _):
        consumer = env.consumer(SlowPipeline(4.5))  # type: ignore[arg-type]
        work = asyncio.create_task(consumer.run_once())
        await asyncio.sleep(3.0)  # past the 2 s visibility: only the heartbeat keeps it hidden
        stolen = await asyncio.to_thread(sqs.receive_message, QueueUrl=url, WaitTimeSeconds=0)
        assert "Messages" not in stolen, "another consumer got a message still in work"
        assert await work == 1
    assert queue_depth(sqs, url) == 0


async def test_a_trickle_of_events_is_taken_in_fuller_batches(
        aws_env: dict[str, str], make_queue: Callable[..., str]) -> None:
    """After a partial batch the consumer waits `batch_window_seconds` before polling again:
    four events sent one by one in that window arrive in one batch, not four."""
    url = make_queue()
    sqs = sqs_client(aws_env)
    s = settings(queue_url=url, queue={"wait_seconds": 1, "batch_window_seconds": 1.0})
    async with context(s) as (env, pipeline):
        consumer = env.consumer(pipeline)
        sizes: list[int] = []
        start_batch = consumer._start_batch

        def counted(client: Any, messages: Any) -> None:
            sizes.append(len(messages))
            start_batch(client, messages)

        consumer._start_batch = counted  # type: ignore[method-assign]
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        sqs.send_message(QueueUrl=url, MessageBody=backup_event("j-0", "RUNNING", size=1))
        for _ in range(100):
            if consumer.processed:
                break
            await asyncio.sleep(0.02)
        for i in range(1, 5):
            await asyncio.to_thread(sqs.send_message, QueueUrl=url,
                                    MessageBody=backup_event(f"j-{i}", "RUNNING", size=1))
        for _ in range(200):
            if consumer.processed >= 5:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await task
    assert sizes == [1, 4]  # with batch_window_seconds 0: [1, 1, 1, 1, 1]
