"""Over 10 000 generated and mutated messages through the SQS consumer: nothing crashes, only
what the decoder accepts is deleted, and every rejection is logged with its reason and counted.

The consumer runs for real; SQS is an in-memory double with the API's exact shapes (moto over
HTTP would make 10 000 messages cost minutes; `test_consumer_over_sqs_*` below and the
pipeline tests cover the wire). The oracle is the pure decoder: a body it refuses must stay in
the queue for redrive, a body it accepts must be deleted.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from daemon.config.settings import Settings
from daemon.core.errors import DecodeError
from daemon.core.events.decode import decode
from daemon.obs.metrics import Metrics
from tests.pipeline.helpers import env_of

from .messages import MESSAGES

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/fuzz"


class FakeSqs:
    """SQS's Receive/DeleteMessageBatch/ChangeMessageVisibilityBatch/GetQueueAttributes, in memory."""

    def __init__(self) -> None:
        self.waiting: list[dict[str, Any]] = []
        self.deleted: set[str] = set()
        self._ids = itertools.count()

    def send(self, body: str) -> str:
        n = next(self._ids)
        self.waiting.append({"MessageId": f"m{n}", "ReceiptHandle": f"r{n}", "Body": body,
                             "Attributes": {"ApproximateReceiveCount": "1"}})
        return f"r{n}"

    async def receive_message(self, **kw: Any) -> dict[str, Any]:
        batch, self.waiting = (self.waiting[:kw["MaxNumberOfMessages"]],
                               self.waiting[kw["MaxNumberOfMessages"]:])
        return {"Messages": batch} if batch else {}

    async def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:  # noqa: N803 - AWS's names
        assert len(Entries) <= 10, "DeleteMessageBatch takes at most 10 entries"
        self.deleted.update(e["ReceiptHandle"] for e in Entries)
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}

    async def change_message_visibility_batch(self, **kw: Any) -> dict[str, Any]:
        return {"Successful": [], "Failed": []}

    async def get_queue_attributes(self, **kw: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:fuzz"}}


class FakeClients:
    """AwsClients with SQS only: the fuzzed path must not call another service."""

    def __init__(self, sqs: FakeSqs) -> None:
        self._sqs = sqs

    async def sqs(self) -> FakeSqs:
        return self._sqs

    async def sns(self) -> Any:
        raise AssertionError("the fuzzed path must not publish alerts")


class FixedSizes:
    """Table sizes without DescribeTable: the fuzz is about messages, not about AWS."""

    async def size_of(self, resource_arn: str | None) -> int | None:
        return 1024 if resource_arn else None


def accepted(body: str) -> bool:
    try:
        decode(body)
    except DecodeError:
        return False
    return True


@pytest.mark.slow
def test_ten_thousand_fuzzed_messages_through_the_consumer() -> None:
    sqs = FakeSqs()
    s = Settings(queue_url=QUEUE, alert_topic_arn=None)
    metrics = Metrics(CollectorRegistry())
    env = env_of(s, FakeClients(sqs), metrics)
    consumer = env.consumer(env.pipeline(FixedSizes()))
    poison = metrics.registry.get_sample_value
    loop = asyncio.new_event_loop()
    seen = {"messages": 0, "poison": 0}

    @settings(max_examples=400, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(MESSAGES, min_size=25, max_size=30))
    def batch_through_the_consumer(bodies: list[str]) -> None:
        receipts = {sqs.send(body): body for body in bodies}
        before = poison("backupd_events_total", {"kind": "unknown", "outcome": "poison"})
        with capture_logs() as logs:
            while sqs.waiting:
                loop.run_until_complete(consumer.run_once())
        expected = {r for r, body in receipts.items() if accepted(body)}
        assert sqs.deleted & receipts.keys() == expected  # nothing refused was deleted
        rejected = [e for e in logs if e["event"] == "message.rejected"]
        assert all(e["reason"] and e["outcome"] == "poison" for e in rejected)
        assert len(rejected) == len(receipts) - len(expected)
        after = poison("backupd_events_total", {"kind": "unknown", "outcome": "poison"})
        assert after - before == len(rejected)  # type: ignore[operator]
        seen["messages"] += len(bodies)
        seen["poison"] += len(rejected)

    try:
        batch_through_the_consumer()
    finally:
        loop.close()
    print(f"fuzzed {seen['messages']} messages, {seen['poison']} refused as poison")
    assert seen["messages"] >= 10_000
    assert 0 < seen["poison"] < seen["messages"]  # the mix exercises both paths
    assert env.tracker.running_bytes_total() >= 0


@pytest.mark.e2e
async def test_consumer_over_sqs_deletes_only_what_it_handled(
        aws_env: dict[str, str], make_queue: Callable[..., str]) -> None:
    """A fuzzed sample over the real wire: what is left in SQS is exactly the refused."""
    url = make_queue()
    sqs = boto3.client("sqs", region_name="us-east-1", endpoint_url=aws_env["AWS_ENDPOINT_URL"])
    bodies = [b for b in _sample(150) if _sqs_safe(b)]
    for start in range(0, len(bodies), 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies[start:start + 10])])
    refused = sum(not accepted(b) for b in bodies)
    from tests.pipeline.helpers import context  # noqa: PLC0415
    from tests.pipeline.helpers import settings as test_settings  # noqa: PLC0415

    # a long visibility: a refused message must not come back while the test counts
    async with context(test_settings(queue_url=url, queue={"visibility_timeout_seconds": 600})
                       ) as (env, pipeline):
        consumer = env.consumer(pipeline)
        while consumer.processed < len(bodies):
            await consumer.run_once()
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    left = int(attrs["ApproximateNumberOfMessages"]) + int(
        attrs["ApproximateNumberOfMessagesNotVisible"])
    assert left == refused
    assert 0 < refused < len(bodies)


def _sample(n: int) -> list[str]:
    out: list[str] = []

    @settings(max_examples=n, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(MESSAGES)
    def collect(body: str) -> None:
        out.append(body)

    collect()
    return out


def _sqs_safe(body: str) -> bool:
    """SQS refuses empty bodies and characters outside XML's range."""
    return bool(body) and all(
        c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd"
        or "\U00010000" <= c <= "\U0010ffff" for c in body) and len(body.encode()) < 2**18
