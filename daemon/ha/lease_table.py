"""The leader lease item in DynamoDB: read consistently, written only on condition.

Every write names what it expects to replace (no item, or one exact version), so two
replicas can never both believe a write of theirs won: DynamoDB serialises conditional
writes on one item. The table is created only when configured to; otherwise a missing
table is a PermanentError that names it and says how to make it. So is a table AWS refuses
for good (access denied): the gate reports why instead of retrying as if it were a blip.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from daemon.aws.errors import error_code, permanent
from daemon.core.errors import PermanentError
from daemon.core.ha.lease import LeaseRecord

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb.client import DynamoDBClient
    from types_aiobotocore_dynamodb.type_defs import AttributeValueTypeDef, PutItemInputTypeDef

    from daemon.aws.session import Connect

KEY = "lease"
CONFLICT = "ConditionalCheckFailedException"
MISSING = "ResourceNotFoundException"


def to_item(lease_name: str, record: LeaseRecord) -> dict[str, AttributeValueTypeDef]:
    """The record in DynamoDB's attribute-value shape."""
    return {
        KEY: {"S": lease_name},
        "holder": {"S": record.holder},
        "version": {"S": record.version},
        "lease_seconds": {"N": repr(float(record.lease_seconds))},
        "acquired_at": {"S": record.acquired_at.isoformat()},
        "renewed_at": {"S": record.renewed_at.isoformat()},
        "transitions": {"N": str(record.transitions)},
    }


def from_item(item: Mapping[str, AttributeValueTypeDef]) -> LeaseRecord:
    """Parse the item back; a record written by hand with fields missing reads as released."""
    def text(name: str, default: str = "") -> str:
        value = item.get(name)
        return value.get("S", default) if value is not None else default

    def number(name: str, default: str) -> float:
        value = item.get(name)
        return float(value.get("N", default) if value is not None else default)

    epoch = "1970-01-01T00:00:00+00:00"
    return LeaseRecord(
        holder=text("holder"), version=text("version"),
        lease_seconds=number("lease_seconds", "15"),
        acquired_at=datetime.fromisoformat(text("acquired_at", epoch)),
        renewed_at=datetime.fromisoformat(text("renewed_at", epoch)),
        transitions=int(number("transitions", "0")),
    )


class LeaseTable:
    """Conditional reads and writes of one lease item (`lease = lease_name`)."""

    def __init__(self, dynamodb: Connect[DynamoDBClient], table: str, lease_name: str) -> None:
        self._dynamodb = dynamodb
        self.table = table
        self._key: dict[str, AttributeValueTypeDef] = {KEY: {"S": lease_name}}
        self._lease_name = lease_name

    async def ensure(self, *, create: bool) -> None:
        """Check the table exists with the right key; create it if allowed, else say what to do."""
        ddb = await self._dynamodb()
        try:
            desc = await ddb.describe_table(TableName=self.table)
        except ClientError as exc:
            if error_code(exc) != MISSING:
                self._refused(exc)
                raise
            if not create:
                raise PermanentError(
                    f"leader lease table {self.table!r} does not exist: create it (partition "
                    f"key '{KEY}', type S) or set BACKUPD_LEADER__CREATE_TABLE=true") from exc
            await self._create(ddb)
            return
        keys = desc["Table"].get("KeySchema", [])
        if [(k["AttributeName"], k["KeyType"]) for k in keys] != [(KEY, "HASH")]:
            raise PermanentError(f"leader lease table {self.table!r} must have the single "
                                 f"partition key '{KEY}' (type S), not {keys}")

    async def _create(self, ddb: DynamoDBClient) -> None:
        try:
            await ddb.create_table(
                TableName=self.table, BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}])
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":  # another replica created it
                self._refused(exc)
                raise
        for _ in range(60):
            desc = await ddb.describe_table(TableName=self.table)
            if desc["Table"]["TableStatus"] == "ACTIVE":
                return
            await asyncio.sleep(1.0)  # bounded: a table turns ACTIVE within seconds
        raise PermanentError(f"leader lease table {self.table!r} did not become ACTIVE")

    def _refused(self, exc: ClientError) -> None:
        """PermanentError when AWS refused for good (access denied, a KMS key disabled), so the
        gate says why and checks again slowly; a transient error is the caller's to re-raise."""
        if permanent(exc):
            raise PermanentError(f"leader lease table {self.table!r} is unusable: {exc}") from exc

    async def read(self) -> LeaseRecord | None:
        """The current record (strongly consistent), or None when there is no item."""
        ddb = await self._dynamodb()
        resp = await ddb.get_item(TableName=self.table, Key=self._key, ConsistentRead=True)
        item = resp.get("Item")
        return from_item(item) if item else None

    async def put(self, record: LeaseRecord, expected_version: str | None) -> bool:
        """Create (expected None) or take over (expected version); False if someone won first."""
        ddb = await self._dynamodb()
        request: PutItemInputTypeDef = {"TableName": self.table,
                                        "Item": to_item(self._lease_name, record)}
        if expected_version is None:
            request["ConditionExpression"] = "attribute_not_exists(#k)"
            request["ExpressionAttributeNames"] = {"#k": KEY}
        else:
            request["ConditionExpression"] = "#v = :v"
            request["ExpressionAttributeNames"] = {"#v": "version"}
            request["ExpressionAttributeValues"] = {":v": {"S": expected_version}}
        return await _conditional(ddb.put_item(**request))

    async def renew(self, record: LeaseRecord, expected_version: str) -> bool:
        """Move our own lease to a new version; False when it is no longer ours as we knew it."""
        ddb = await self._dynamodb()
        return await _conditional(ddb.update_item(
            TableName=self.table, Key=self._key,
            UpdateExpression="SET #v = :new, renewed_at = :at, lease_seconds = :ls",
            ConditionExpression="holder = :me AND #v = :old",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={
                ":new": {"S": record.version}, ":old": {"S": expected_version},
                ":me": {"S": record.holder}, ":at": {"S": record.renewed_at.isoformat()},
                ":ls": {"N": repr(float(record.lease_seconds))}}))

    async def release(self, holder: str, version: str) -> bool:
        """Delete the item if it is still our write, so a follower takes over at once."""
        ddb = await self._dynamodb()
        return await _conditional(ddb.delete_item(
            TableName=self.table, Key=self._key,
            ConditionExpression="holder = :me AND #v = :v",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues={":me": {"S": holder}, ":v": {"S": version}}))


async def _conditional(call: Awaitable[object]) -> bool:
    """Await a conditional write: True when applied, False when its condition failed."""
    try:
        await call
    except ClientError as exc:
        if error_code(exc) == CONFLICT:
            return False
        raise
    return True
