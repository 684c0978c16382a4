"""Fixtures of the stand-in's own tests: real aioboto3 clients pointed at it over HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import aioboto3
import pytest

ROLE = "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"


@pytest.fixture(scope="session")
def aio_session() -> aioboto3.Session:
    """One aioboto3 session for the suite: it caches botocore's service models."""
    return aioboto3.Session()


@pytest.fixture
async def aws(aws_env: dict[str, str], aio_session: aioboto3.Session
              ) -> AsyncIterator[dict[str, Any]]:
    """aioboto3 clients (backup, dynamodb, sqs, sns) built from the stand-in's env alone."""
    session = aio_session
    async with (session.client("backup") as backup, session.client("dynamodb") as dynamodb,
                session.client("sqs") as sqs, session.client("sns") as sns):
        yield {"backup": backup, "dynamodb": dynamodb, "sqs": sqs, "sns": sns}


async def drain(sqs: Any, queue_url: str, *, want: int, tries: int = 50) -> list[dict[str, Any]]:
    """Receive and delete messages until `want` have arrived (or tries run out)."""
    bodies: list[dict[str, Any]] = []
    for _ in range(tries):
        resp = await sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                         MessageAttributeNames=["All"])
        for msg in resp.get("Messages", []):
            bodies.append(json.loads(msg["Body"]))
            await sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=msg["ReceiptHandle"])
        if len(bodies) >= want:
            return bodies
        await asyncio.sleep(0.05)
    return bodies


async def wait_for(check: Callable[[], Any], tries: int = 100) -> Any:
    """Poll an async check until it returns something truthy (the fake runs on a clock)."""
    for _ in range(tries):
        if result := await check():
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition never became true")
