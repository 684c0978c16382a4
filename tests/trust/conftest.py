"""Fixtures of the trust-under-failure tests: AWS clients on the stand-in, lease settings."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prometheus_client import CollectorRegistry

from daemon.aws.session import AwsClients
from daemon.config.leader import LeaderSettings
from daemon.config.settings import AwsSettings
from daemon.obs.metrics import Metrics

# Fast lease timing for tests: renew 0.2 s, step down after 0.6 s, expire after 1 s.
FAST = {"renew_seconds": 0.2, "renew_deadline_seconds": 0.6, "lease_seconds": 1.0}


@pytest.fixture
def metrics() -> Metrics:
    return Metrics(CollectorRegistry())


@pytest.fixture
async def clients(aws_env: dict[str, str], metrics: Metrics) -> AsyncIterator[AwsClients]:
    """The daemon's own AwsClients, pointed at a freshly emptied stand-in."""
    async with AwsClients(AwsSettings(endpoint_url=aws_env["AWS_ENDPOINT_URL"], max_attempts=2),
                          aws_env["AWS_REGION"], metrics) as c:
        yield c


@pytest.fixture
def lease_settings() -> LeaderSettings:
    return LeaderSettings(enabled=True, create_table=True, table="lease-test", **FAST)
