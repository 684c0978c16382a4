"""The fault proxy injects what it says, in each AWS protocol's real shape, and only that."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import aioboto3
import pytest
from aiobotocore.config import AioConfig
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from daemon.aws.session import classify

from .faultproxy import Call, FaultPlan, FaultProxy

pytestmark = pytest.mark.e2e


def only(kind: str, **extra: Any) -> FaultPlan:
    return FaultPlan(rate=1.0, kinds={kind: 1.0}, **extra)


@pytest.fixture
async def proxy(aws_env: dict[str, str]) -> AsyncIterator[FaultProxy]:
    async with FaultProxy(aws_env["AWS_ENDPOINT_URL"]) as p:
        yield p


def client(proxy: FaultProxy, service: str, **config: Any) -> Any:
    cfg = AioConfig(retries={"total_max_attempts": 1, "mode": "standard"}, **config)
    return aioboto3.Session().client(service, endpoint_url=proxy.url, config=cfg)


CALLS = {  # one cheap call per protocol family
    "dynamodb": ("list_tables", {}),  # json
    "sqs": ("list_queues", {}),  # json, awsQueryCompatible
    "sns": ("list_topics", {}),  # query XML
    "cloudwatch": ("list_metrics", {}),  # query XML
    "backup": ("list_backup_vaults", {}),  # rest-json
}


@pytest.mark.parametrize("service", sorted(CALLS))
async def test_calls_pass_through_untouched_at_rate_zero(proxy: FaultProxy, service: str) -> None:
    operation, kwargs = CALLS[service]
    async with client(proxy, service) as c:
        resp = await getattr(c, operation)(**kwargs)
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize("service", sorted(CALLS))
async def test_throttling_reads_as_throttling_to_botocore(proxy: FaultProxy, service: str) -> None:
    proxy.plan = only("throttle")
    operation, kwargs = CALLS[service]
    async with client(proxy, service) as c:
        with pytest.raises(ClientError) as caught:
            await getattr(c, operation)(**kwargs)
    err = caught.value.response
    assert classify(err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"]) == "throttled"


@pytest.mark.parametrize("service", sorted(CALLS))
async def test_server_errors_are_5xx_with_a_code(proxy: FaultProxy, service: str) -> None:
    proxy.plan = only("server_error")
    operation, kwargs = CALLS[service]
    async with client(proxy, service) as c:
        with pytest.raises(ClientError) as caught:
            await getattr(c, operation)(**kwargs)
    err = caught.value.response
    assert err["ResponseMetadata"]["HTTPStatusCode"] in (500, 503)
    assert err["Error"]["Code"] in ("InternalFailure", "ServiceUnavailable")


async def test_dynamodb_throttling_uses_every_dynamodb_code(proxy: FaultProxy) -> None:
    proxy.plan = only("throttle")
    codes = set()
    async with client(proxy, "dynamodb") as c:
        for _ in range(30):
            with pytest.raises(ClientError) as caught:
                await c.list_tables()
            codes.add(caught.value.response["Error"]["Code"])
    assert codes == {"ThrottlingException", "ProvisionedThroughputExceededException",
                     "RequestLimitExceeded"}


async def test_a_reset_is_a_connection_error(proxy: FaultProxy) -> None:
    proxy.plan = only("reset")
    async with client(proxy, "sqs") as c:
        with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
            await c.list_queues()


async def test_a_lost_response_was_executed_by_aws(proxy: FaultProxy,
                                                   make_queue: Any) -> None:
    url = make_queue()
    proxy.plan = only("lost_response", applies=lambda call: call.operation == "SendMessage")
    async with client(proxy, "sqs") as c:
        with pytest.raises((ConnectionClosedError, EndpointConnectionError)):
            await c.send_message(QueueUrl=url, MessageBody="hello")
        got = await c.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert [m["Body"] for m in got["Messages"]] == ["hello"]


async def test_a_delay_past_the_read_timeout_times_out(proxy: FaultProxy) -> None:
    proxy.plan = only("timeout", timeout_seconds=1.0)
    async with client(proxy, "dynamodb", read_timeout=0.3) as c:
        with pytest.raises(ReadTimeoutError):
            await c.list_tables()


async def test_the_same_seed_injects_the_same_faults(aws_env: dict[str, str]) -> None:
    call = Call("dynamodb", "GetItem")
    plans = [FaultPlan(seed=7, rate=0.3), FaultPlan(seed=7, rate=0.3), FaultPlan(seed=8, rate=0.3)]
    runs = []
    for plan in plans:
        rng = random.Random(plan.seed)
        runs.append([plan.pick(rng, call) for _ in range(200)])
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]


async def test_the_rate_is_the_share_of_calls_failed(proxy: FaultProxy) -> None:
    proxy.plan = FaultPlan(seed=3, rate=0.2, kinds={"throttle": 1.0, "server_error": 1.0})
    proxy.rng = random.Random(3)
    failed = 0
    async with client(proxy, "dynamodb") as c:
        for _ in range(200):
            try:
                await c.list_tables()
            except ClientError:
                failed += 1
    assert failed == proxy.injected
    assert 20 <= failed <= 60  # 20 % of 200 = 40, well inside binomial bounds
