"""Member accounts' roles: a table's size read in its own account through an assumed-role
session (moto's STS AssumeRole), and a role that fails reported once, holding up no other."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from daemon.events.wire import wire
from tests.fixtures.roles import RefusingSts
from tests.fixtures.standin import member_client
from tests.pipeline.helpers import backup_event, context, settings

pytestmark = pytest.mark.e2e
GIB = 2**30
MEMBER, BROKEN = "222222222222", "333333333333"
TEMPLATE = "arn:aws:iam::{account}:role/ddb-backupd-member"


def member_table(standin: Any, name: str) -> None:
    """A table in the member account, made with that account's assumed-role credentials."""
    ddb = member_client(standin, "dynamodb", MEMBER, role_arn_template=TEMPLATE)
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    assert ddb.describe_table(TableName=name)["Table"]["TableArn"].split(":")[4] == MEMBER


def org(**extra: Any) -> Any:
    return settings(organization={"enabled": True, "role_arn_template": TEMPLATE,
                                  "external_id": "ddb-backupd-2026"}, **extra)


async def test_a_member_tables_size_is_read_in_its_own_account_through_its_role(
        aws_env: dict[str, str], fresh_standin: Any, backup_fake: Any) -> None:
    member_table(fresh_standin, "member-orders")
    backup_fake.set_table_size("member-orders", 7 * GIB)
    async with context(org()) as (env, _):
        pipeline = wire(env.settings, env.aws, env.kernel).pipeline
        await pipeline.handle(backup_event("m1", "RUNNING", table="member-orders",
                                           account=MEMBER))
        await pipeline.settle()
        assert env.tracker.scope_total((MEMBER, "us-east-1")).bytes == 7 * GIB
        assert env.metrics.registry.get_sample_value(
            "backupd_account_session_up", {"account": MEMBER}) == 1
        calls = env.metrics.registry.get_sample_value
        assert calls("backupd_aws_api_calls_total", {
            "service": "sts", "operation": "AssumeRole", "outcome": "ok"}) == 1


async def test_a_role_that_cannot_be_assumed_is_reported_once_and_blocks_no_other(
        aws_env: dict[str, str], fresh_standin: Any, backup_fake: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    member_table(fresh_standin, "member-orders")
    backup_fake.set_table_size("member-orders", 7 * GIB)
    async with context(org()) as (env, _):
        real = env.aws.sts

        async def sts() -> Any:
            return RefusingSts(await real(), {BROKEN}, external_id="ddb-backupd-2026")

        monkeypatch.setattr(env.aws, "sts", sts)
        pipeline = wire(env.settings, env.aws, env.kernel).pipeline
        with capture_logs() as logs:
            for n in range(3):
                await pipeline.handle(backup_event(f"b{n}", "RUNNING", table=f"t{n}",
                                                   account=BROKEN))
            await pipeline.handle(backup_event("m1", "RUNNING", table="member-orders",
                                               account=MEMBER))
            await pipeline.settle()
        assert env.tracker.scope_total((MEMBER, "us-east-1")).bytes == 7 * GIB
        assert env.tracker.scope_total((BROKEN, "us-east-1")) == (3, 0)
        failed = [line for line in logs if line["event"] == "account.role_failed"]
        assert [line["account"] for line in failed] == [BROKEN], "tried once per retry window"
        assert [a.event for a in (r.alert for r in env.alerts.recent)] == ["account.role_failed"]
        assert env.metrics.registry.get_sample_value(
            "backupd_account_session_up", {"account": BROKEN}) == 0
        members = env.board.snapshot()["member_accounts"]
        assert members[MEMBER] == "ok"
        assert "AccessDenied" in members[BROKEN]
