"""Shards of one Organization: two deployments share the lease table, each with its own
`lease_name`, queue and disjoint `accounts:`; every account is served once, none is missed."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.pipeline.helpers import settings
from tests.pipeline.test_daemon import get, running, until

pytestmark = pytest.mark.e2e
SHARDS = {"shard-1": ["111111111111", "222222222222"],
          "shard-2": ["333333333333", "444444444444"]}
OPEN = {"CREATED", "PENDING", "RUNNING"}


def table(account: str, name: str) -> str:
    return f"arn:aws:dynamodb:us-east-1:{account}:table/{name}"


def shard_settings(name: str, queue: str) -> Any:
    return settings(queue_url=queue, organization={"enabled": True}, accounts=SHARDS[name],
                    leader={"enabled": True, "create_table": True, "table": "org-leases",
                            "lease_name": name, "identity": f"{name}-a"})


async def test_two_shards_serve_every_account_once(
        aws_env: dict[str, str], backup_fake: Any, make_queue: Callable[..., str]) -> None:
    fake = backup_fake
    queues = {name: make_queue() for name in SHARDS}
    for name, accounts in SHARDS.items():
        fake.add_event_rule(queues[name], accounts)  # the central bus: one rule per shard
    everyone = [a for accounts in SHARDS.values() for a in accounts]
    hold = float("inf")
    before = [fake.inject_job(table(a, "orders"), "ops", duration=hold) for a in everyone]
    async with running(shard_settings("shard-1", queues["shard-1"])) as (one, base_one), \
            running(shard_settings("shard-2", queues["shard-2"])) as (two, base_two):
        await until(one.kernel.board.ready)
        await until(two.kernel.board.ready)
        after = [fake.inject_job(table(a, "users"), "ops", duration=hold) for a in everyone]
        shards = {"shard-1": one, "shard-2": two}
        await until(lambda: sum(d.kernel.tracker.running_jobs_total()
                                for d in shards.values()) == len(before) + len(after))
        served: dict[str, set[str]] = {}
        for name, daemon in shards.items():
            jobs = daemon.kernel.tracker.open_jobs()
            served[name] = {j.account for j in jobs if j.account}
            truth = {j.job_id for j in fake.jobs() if j.state in OPEN
                     and j.account in SHARDS[name]}
            assert {j.job_id for j in jobs} == truth, name
        assert served == {name: set(accounts) for name, accounts in SHARDS.items()}
        for base in (base_one, base_two):
            _, body = await get(base + "/status")
            assert json.loads(body)["leader"]["leader"] is True, "each leads its own shard"
