"""The DynamoDB lease adapter over HTTP: conditional writes decide who holds the lease."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from daemon.aws.session import AwsClients
from daemon.core.errors import PermanentError
from daemon.core.ha.lease import LeaseRecord
from daemon.ha.lease_table import LeaseTable

pytestmark = pytest.mark.e2e
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def rec(holder: str, version: str, transitions: int = 0) -> LeaseRecord:
    return LeaseRecord(holder, version, 15.0, NOW, NOW, transitions)


async def table(clients: AwsClients, name: str = "lease-t") -> LeaseTable:
    t = LeaseTable(clients.dynamodb, name, "ddb-backupd")
    await t.ensure(create=True)
    return t


async def test_a_missing_table_is_an_error_naming_it(clients: AwsClients) -> None:
    with pytest.raises(PermanentError, match=r"'no-such-lease-table'.*CREATE_TABLE"):
        await LeaseTable(clients.dynamodb, "no-such-lease-table", "x").ensure(create=False)


async def test_the_table_is_created_only_when_configured(clients: AwsClients) -> None:
    await LeaseTable(clients.dynamodb, "made-here", "x").ensure(create=True)
    await LeaseTable(clients.dynamodb, "made-here", "x").ensure(create=False)  # exists now: no error


async def test_a_table_with_another_key_is_refused(clients: AwsClients) -> None:
    ddb = await clients.dynamodb()
    await ddb.create_table(TableName="wrong-key", BillingMode="PAY_PER_REQUEST",
                           KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                           AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    with pytest.raises(PermanentError, match="partition key 'lease'"):
        await LeaseTable(clients.dynamodb, "wrong-key", "x").ensure(create=False)


class RefusingClient:
    """A DynamoDB client whose DescribeTable always gets the same error."""

    def __init__(self, code: str) -> None:
        self.code = code

    async def __call__(self) -> RefusingClient:  # the connect callable components are given
        return self

    async def describe_table(self, **_: Any) -> dict[str, Any]:
        raise ClientError({"Error": {"Code": self.code, "Message": "User x is not authorized"},
                           "ResponseMetadata": {"HTTPStatusCode": 400}}, "DescribeTable")


async def test_a_table_aws_refuses_for_good_is_an_error_saying_why() -> None:
    """Access denied: checking again soon will not help, and the gate should say why."""
    with pytest.raises(PermanentError, match=r"'lease-t' is unusable: .*AccessDenied.*authorized"):
        await LeaseTable(RefusingClient("AccessDeniedException"), "lease-t", "x").ensure(
            create=True)


async def test_a_throttled_check_stays_an_aws_error_to_retry_soon() -> None:
    with pytest.raises(ClientError, match="ThrottlingException"):
        await LeaseTable(RefusingClient("ThrottlingException"), "lease-t", "x").ensure(
            create=True)


async def test_a_record_round_trips(clients: AwsClients) -> None:
    t = await table(clients)
    assert await t.read() is None
    assert await t.put(rec("a", "v1", 3), None)
    assert await t.read() == rec("a", "v1", 3)


async def test_only_one_of_two_creators_wins(clients: AwsClients) -> None:
    t = await table(clients)
    assert await t.put(rec("a", "v1"), None)
    assert not await t.put(rec("b", "v2"), None)
    assert (await t.read()) == rec("a", "v1")


async def test_a_takeover_must_name_the_version_it_saw(clients: AwsClients) -> None:
    t = await table(clients)
    await t.put(rec("a", "v1"), None)
    assert not await t.put(rec("b", "v2"), "stale")
    assert await t.put(rec("b", "v2"), "v1")
    assert (await t.read()) == rec("b", "v2")


async def test_a_renewal_fails_once_the_lease_changed_hands(clients: AwsClients) -> None:
    t = await table(clients)
    await t.put(rec("a", "v1"), None)
    assert await t.renew(rec("a", "v2"), "v1")
    await t.put(rec("b", "v3"), "v2")
    assert not await t.renew(rec("a", "v4"), "v2")


async def test_release_deletes_only_our_own_write(clients: AwsClients) -> None:
    t = await table(clients)
    await t.put(rec("a", "v1"), None)
    assert not await t.release("b", "v1")
    assert not await t.release("a", "v0")
    assert await t.release("a", "v1")
    assert await t.read() is None
