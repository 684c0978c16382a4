"""Every AWS call is counted, its retries too, and timed: botocore's hooks over HTTP.

The calls go through the fault proxy to the stand-in, so the throttles are the real wire
shape and botocore's own retry handler absorbs them, as it would AWS's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from botocore.exceptions import ClientError
from prometheus_client import CollectorRegistry

from daemon.aws.session import AwsClients, retry_attempts
from daemon.config.settings import AwsSettings
from daemon.obs.metrics import Metrics
from tests.trust.faultproxy import FaultPlan, FaultProxy

pytestmark = pytest.mark.e2e
LIST = {"service": "dynamodb", "operation": "ListTables"}


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


async def throttled_client(endpoint: str, region: str, metrics: Metrics, throttles: int,
                           max_attempts: int) -> AsyncIterator[AwsClients]:
    plan = FaultPlan(rate=0.0, scripted={"ListTables": ["throttle"] * throttles})
    async with FaultProxy(endpoint, plan) as proxy, AwsClients(
            AwsSettings(endpoint_url=proxy.url, max_attempts=max_attempts), region,
            metrics) as clients:
        yield clients


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_throttles_botocore_absorbed_are_counted_as_retries(
        aws_env: dict[str, str], metrics: Metrics) -> None:
    """Two throttles then an answer: one call, ok, and two retries of it."""
    async for clients in throttled_client(aws_env["AWS_ENDPOINT_URL"], aws_env["AWS_REGION"],
                                          metrics, throttles=2, max_attempts=5):
        await (await clients.dynamodb()).list_tables()
    assert value(metrics, "backupd_aws_api_calls_total", **LIST, outcome="ok") == 1
    assert value(metrics, "backupd_aws_api_calls_total", **LIST, outcome="throttled") == 0
    assert value(metrics, "backupd_aws_api_retries_total", **LIST) == 2


async def test_a_call_throttled_to_the_end_counts_its_retries_and_its_outcome(
        aws_env: dict[str, str], metrics: Metrics) -> None:
    """botocore reads `retries.max_attempts` as retries after the first attempt: 2 -> 3 tries."""
    async for clients in throttled_client(aws_env["AWS_ENDPOINT_URL"], aws_env["AWS_REGION"],
                                          metrics, throttles=3, max_attempts=2):
        with pytest.raises(ClientError):
            await (await clients.dynamodb()).list_tables()
    assert value(metrics, "backupd_aws_api_calls_total", **LIST, outcome="throttled") == 1
    assert value(metrics, "backupd_aws_api_retries_total", **LIST) == 2


async def test_each_call_is_timed_once_by_service(aws_env: dict[str, str],
                                                   metrics: Metrics) -> None:
    """The duration covers the retries: a throttled call takes the backoff too."""
    async for clients in throttled_client(aws_env["AWS_ENDPOINT_URL"], aws_env["AWS_REGION"],
                                          metrics, throttles=1, max_attempts=3):
        dynamodb = await clients.dynamodb()
        await dynamodb.list_tables()
        await dynamodb.list_tables()
    count = "backupd_aws_api_call_duration_seconds_count"
    assert value(metrics, count, service="dynamodb") == 2
    assert value(metrics, "backupd_aws_api_call_duration_seconds_sum", service="dynamodb") > 0
    assert value(metrics, "backupd_aws_api_call_duration_seconds_bucket", service="dynamodb",
                 le="+Inf") == 2


@pytest.mark.parametrize(("parsed", "attempts"), [
    ({"ResponseMetadata": {"RetryAttempts": 3}}, 3),
    ({"ResponseMetadata": {}}, 0),
    ({}, 0),
    ({"ResponseMetadata": "odd"}, 0),
])
def test_retry_attempts_are_read_from_the_answer_metadata(parsed: dict[str, object],
                                                          attempts: int) -> None:
    assert retry_attempts(parsed) == attempts
