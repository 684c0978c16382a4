"""Accounts as a dimension: totals, levels, limits and alerts per (account, region)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from daemon.core.clock import FakeClock
from daemon.events.pipeline import Pipeline
from daemon.obs.collector import TrackerCollector
from tests.pipeline.helpers import backup_event, context, settings

A, B, C = "111111111111", "222222222222", "333333333333"
ACCOUNT_HERE = "123456789012"  # the stand-in's account
LIMITS = {"overrides": [{"account": B, "limit_bytes": 1000},
                        {"account": B, "region": "eu-west-1", "limit_bytes": 50}]}


def gauges(pipeline: Pipeline, registry: CollectorRegistry) -> CollectorRegistry:
    registry.register(TrackerCollector(pipeline._tracker, pipeline.thresholds_view, 100,
                                       levels=pipeline.levels))
    return registry


async def test_each_account_and_region_reaches_its_own_level_against_its_own_limit(
        aws_env: dict[str, str]) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 5, 0, tzinfo=UTC))
    async with context(settings(limit_bytes=100, limits=LIMITS), clock) as (env, pipeline):
        registry = gauges(pipeline, CollectorRegistry())
        for job, account, region in [("a1", A, "us-east-1"), ("b1", B, "us-east-1"),
                                     ("b2", B, "eu-west-1")]:
            assert await pipeline.handle(backup_event(job, "RUNNING", size=85, account=account,
                                                      region=region)) == "handled"
        level = {(one.account, one.region): (one.level, one.limit_bytes)
                 for one in pipeline.levels()}
        assert level == {(A, "us-east-1"): (1, 100), (B, "us-east-1"): (0, 1000),
                         (B, "eu-west-1"): (2, 50)}
        alerts = [(r.alert.event, r.alert.body["account"], r.alert.body["region"])
                  for r in env.alerts.recent]
        assert alerts == [("threshold.warning", A, "us-east-1"),
                          ("threshold.critical", B, "eu-west-1")]
        assert f"in {A}/us-east-1" in env.alerts.recent[0].alert.subject
        assert pipeline.thresholds_view() == 2
        get = registry.get_sample_value
        assert get("backupd_account_threshold_level", {"account": B, "region": "eu-west-1"}) == 2
        assert get("backupd_account_limit_bytes", {"account": B, "region": "us-east-1"}) == 1000
        assert get("backupd_backup_running_bytes", {
            "vault": "ops", "resource_type": "DynamoDB", "region": "us-east-1",
            "account": B}) == 85
        assert get("backupd_threshold_level") == 2


async def test_a_failed_job_alert_names_its_account(aws_env: dict[str, str]) -> None:
    async with context(settings()) as (env, pipeline):
        await pipeline.handle(backup_event("f1", "FAILED", account=C))
        [alert] = [r.alert for r in env.alerts.recent]
        assert alert.body["account"] == C
        assert f"{C}/us-east-1" in alert.subject


async def test_accounts_past_the_cap_count_as_other_and_are_logged_once(
        aws_env: dict[str, str]) -> None:
    async with context(settings(max_accounts=1)) as (env, pipeline):
        with capture_logs() as logs:
            for n, account in enumerate([A, B, B, C]):
                await pipeline.handle(backup_event(f"j{n}", "RUNNING", size=1, account=account))
        capped = [line["accounts"] for line in logs if line["event"] == "accounts.capped"]
        assert capped == [[B], [C]]
        assert {key: t.jobs for key, t in env.tracker.scope_totals().items()} == {
            (A, "us-east-1"): 1, ("other", "us-east-1"): 3}


# --- events from anywhere, and the accounts served here ----------------------------------------

async def test_events_of_any_account_and_region_are_accepted_and_attributed(
        aws_env: dict[str, str]) -> None:
    async with context(settings()) as (env, pipeline):
        assert await pipeline.handle(backup_event("x", "RUNNING", size=9, account=C,
                                                  region="ap-southeast-2")) == "handled"
        assert env.tracker.scope_totals() == {(C, "ap-southeast-2"): (1, 9)}


async def test_events_of_accounts_not_served_here_are_ignored_with_a_reason(
        aws_env: dict[str, str]) -> None:
    async with context(settings(accounts=[A, B])) as (env, pipeline):
        with capture_logs() as logs:
            assert await pipeline.handle(backup_event("c1", "RUNNING", size=5,
                                                      account=C)) == "ignored"
            assert await pipeline.handle(backup_event("a1", "RUNNING", size=5,
                                                      account=A)) == "handled"
        [ignored] = [line for line in logs if line["event"] == "message.ignored"]
        assert ignored["account"] == C
        assert f"account {C} is not in accounts:" in ignored["reason"]
        assert env.metrics.registry.get_sample_value(
            "backupd_events_total", {"kind": "ignored", "outcome": "ignored"}) == 1
        assert set(env.tracker.scope_totals()) == {(A, "us-east-1")}


async def test_a_table_of_another_region_is_not_sized_from_this_one(
        aws_env: dict[str, str], make_table: Callable[..., Any]) -> None:
    """A table of the same name here would give a wrong size: the job waits for its own."""
    table = make_table(size_bytes=3 * 2**30)
    async with context(settings()) as (env, pipeline):
        body = backup_event("far", "RUNNING", table=table.name, region="eu-west-1")
        await pipeline.handle(body)
        await pipeline.handle(backup_event("near", "RUNNING", table=table.name))
        await pipeline.settle()
        assert env.tracker.scope_totals()[(ACCOUNT_HERE, "eu-west-1")] == (1, 0)
        assert env.tracker.scope_totals()[(ACCOUNT_HERE, "us-east-1")] == (1, 3 * 2**30)
