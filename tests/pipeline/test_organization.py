"""One deployment for an Organization: three accounts' events in one queue, per-account levels
and alerts, and a restart that rebuilds every account through cross-account monitoring."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.pipeline.helpers import settings
from tests.pipeline.test_daemon import get, running, until

pytestmark = pytest.mark.e2e
GIB = 2**30
OWN, B, C = "123456789012", "222222222222", "333333333333"  # OWN: the stand-in's account
OPEN = {"CREATED", "PENDING", "RUNNING"}


def member_table(account: str, name: str) -> str:
    return f"arn:aws:dynamodb:us-east-1:{account}:table/{name}"


@pytest.fixture
def org(aws_env: dict[str, str], backup_fake: Any, make_queue: Callable[..., str],
        make_vault: Callable[..., Any], make_table: Callable[..., Any]) -> dict[str, Any]:
    """A central queue fed by the three accounts' events; the own account's tables sized."""
    queue = make_queue(dlq=True)
    backup_fake.set_event_target(queue)
    vault = make_vault()
    tables = [make_table(size_bytes=size * GIB) for size in (4, 5)]
    return {"queue": queue, "vault": vault, "tables": tables, "fake": backup_fake}


def org_settings(queue: str, **extra: Any) -> Any:
    return settings(queue_url=queue, organization={"enabled": True}, limit_bytes=10 * GIB,
                    limits={"overrides": [{"account": B, "limit_bytes": 100 * GIB}]}, **extra)


async def test_three_accounts_events_levels_alerts_and_a_restart_that_rebuilds_them_all(
        org: dict[str, Any]) -> None:
    fake, vault = org["fake"], org["vault"]
    s = org_settings(org["queue"])
    hold = float("inf")
    own = [fake.inject_job(t.arn, vault.name, duration=hold) for t in org["tables"]]
    members = [fake.inject_job(member_table(B, "orders"), "ops", duration=hold),
               fake.inject_job(member_table(B, "users"), "ops", duration=hold),
               fake.inject_job(member_table(C, "orders"), "ops", duration=hold)]
    async with running(s) as (daemon, base):
        tracker = daemon.kernel.tracker
        await until(lambda: tracker.running_jobs_total() == 5)
        await until(lambda: tracker.scope_total((OWN, "us-east-1")).bytes == 9 * GIB)
        assert {key: t.jobs for key, t in tracker.scope_totals().items()} == {
            (OWN, "us-east-1"): 2, (B, "us-east-1"): 2, (C, "us-east-1"): 1}
        fake.finish(members[2].job_id, "FAILED", status_message="Access denied")
        await until(lambda: tracker.running_jobs_total() == 4)
        events = daemon.kernel.alerts
        await until(lambda: len(events.sent) >= 2)
        alerts = {(a.event, a.body["account"]) for a in events.sent}
        assert alerts == {("threshold.critical", OWN), ("job.failed", C)}
        _, text = await get(base + "/metrics")
        families = {f.name: f for f in text_string_to_metric_families(text)}
        levels = {(x.labels["account"], x.value)
                  for x in families["backupd_account_threshold_level"].samples}
        assert levels == {(OWN, 2), (B, 0), (C, 0)}
        jobs = {x.labels["account"]: x.value for x in families["backupd_backup_jobs_running"].samples
                if x.value}
        assert jobs == {OWN: 2, B: 2}
    # While the daemon is down: events are lost, one job of each account changes.
    fake.clear_event_target()
    fake.finish(own[0].job_id, "COMPLETED")
    fake.finish(members[0].job_id, "COMPLETED")
    late = fake.inject_job(member_table(C, "users"), "ops", duration=hold)
    async with running(s) as (daemon, base):
        await until(daemon.kernel.board.ready)  # ready only after the first reconcile
        truth = {j.job_id for j in fake.jobs() if j.state in OPEN}
        assert {j.job_id for j in daemon.kernel.tracker.open_jobs()} == truth
        assert truth == {own[1].job_id, members[1].job_id, late.job_id}
        assert {key: t.jobs for key, t in daemon.kernel.tracker.scope_totals().items()
                if t.jobs} == {(OWN, "us-east-1"): 1, (B, "us-east-1"): 1,
                               (C, "us-east-1"): 1}
        _, body = await get(base + "/status")
        assert json.loads(body)["reconcile"]["accounts"] == ["*"]
        # A member's job ends unheard while the daemon runs: the next pass finds how it ended.
        fake.finish(members[1].job_id, "ABORTED")
        tracker = daemon.kernel.tracker
        await until(lambda: tracker.finished_state(members[1].job_id) == "ABORTED", 12)
        assert (B, "us-east-1") not in {
            key for key, t in daemon.kernel.tracker.scope_totals().items() if t.jobs}


async def test_without_an_organization_a_restart_rebuilds_only_the_own_account(
        org: dict[str, Any]) -> None:
    """The listing without ByAccountId is the caller's: member jobs wait for their events."""
    fake = org["fake"]
    fake.clear_event_target()
    own = fake.inject_job(org["tables"][0].arn, org["vault"].name, duration=float("inf"))
    fake.inject_job(member_table(B, "orders"), "ops", duration=float("inf"))
    async with running(settings(queue_url=org["queue"])) as (daemon, _):
        await until(daemon.kernel.board.ready)
        assert {j.job_id for j in daemon.kernel.tracker.open_jobs()} == {own.job_id}


async def test_a_served_set_of_accounts_is_listed_one_by_one(org: dict[str, Any]) -> None:
    fake = org["fake"]
    fake.clear_event_target()
    fake.inject_job(member_table(B, "orders"), "ops", duration=float("inf"))
    served = fake.inject_job(member_table(C, "orders"), "ops", duration=float("inf"))
    async with running(org_settings(org["queue"], accounts=[C])) as (daemon, base):
        await until(daemon.kernel.board.ready)
        assert {j.job_id for j in daemon.kernel.tracker.open_jobs()} == {served.job_id}
        _, body = await get(base + "/status")
        assert json.loads(body)["reconcile"]["accounts"] == [C]
