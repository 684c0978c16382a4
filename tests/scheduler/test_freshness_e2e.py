"""Freshness and coverage end to end, over HTTP against the stand-in: the seed from AWS after a
restart, readiness, completions on the bus, the metrics, /status, CloudWatch datums, gaps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from structlog.testing import capture_logs

from daemon.core.clock import FakeClock
from daemon.kernel.bus import BackupCompleted
from daemon.scheduling import freshness as freshness_module
from tests.scheduler.conftest import Instance

pytestmark = pytest.mark.e2e
DAILY = {"name": "daily", "expression": "cron(0 5 * * ? *)", "tables": ["orders-*"]}
DAY = 86400.0


def today_slot() -> datetime:
    """05:00 UTC of today (the real day: the stand-in dates backups by the real clock)."""
    return datetime.now(UTC).replace(hour=5, minute=0, second=0, microsecond=0)


def value(daemon: Instance, name: str, **labels: str) -> float | None:
    return daemon.kernel.metrics.registry.get_sample_value(name, labels)


def created_at(ddb: Any, table: str) -> datetime:
    summaries = ddb.list_backups(TableName=table)["BackupSummaries"]
    return max(s["BackupCreationDateTime"] for s in summaries).astimezone(UTC)


@pytest.fixture
def estate(make_table: Any, ddb: Any) -> dict[str, datetime]:
    """orders-a (backed up by the schedule), orders-b (never), users (a manual backup, not
    selected): the creation times of their newest backups."""
    for name in ("orders-a", "orders-b", "users"):
        make_table(name)
    ddb.create_backup(TableName="orders-a", BackupName=f"backupd-daily-{today_slot():%Y%m%d%H%M}")
    ddb.create_backup(TableName="users", BackupName="manual")
    return {"orders-a": created_at(ddb, "orders-a"), "users": created_at(ddb, "users")}


async def test_a_restart_reads_each_tables_newest_backup_and_the_last_success_from_aws(
        instance, estate):
    now = datetime.now(UTC) + timedelta(hours=1)
    daemon = await instance([DAILY], FakeClock(now))
    assert value(daemon, "backupd_schedule_last_success_timestamp_seconds",
                 schedule="daily") is None, "nothing is known before the seed"
    await daemon.catalog.run_once()
    assert await daemon.freshness.seed()
    assert value(daemon, "backupd_schedule_last_success_timestamp_seconds",
                 schedule="daily") == today_slot().timestamp()
    assert value(daemon, "backupd_table_last_backup_timestamp_seconds", schedule="daily",
                 table="orders-a") == estate["orders-a"].timestamp()
    created_b = daemon.catalog.tables["orders-b"].created
    assert created_b is not None
    assert value(daemon, "backupd_table_last_backup_timestamp_seconds", schedule="daily",
                 table="orders-b") == created_b.timestamp(), "no backup: counted since creation"
    assert value(daemon, "backupd_table_last_backup_timestamp_seconds", schedule="daily",
                 table="users") is None, "not the schedule's table"
    assert value(daemon, "backupd_schedule_oldest_backup_age_seconds", schedule="daily") == (
        pytest.approx((now - min(estate["orders-a"], created_b)).total_seconds(), abs=1))
    assert value(daemon, "backupd_schedule_late_tables", schedule="daily") == 0
    assert value(daemon, "backupd_schedule_tables_without_backup", schedule="daily") == 1


async def test_backups_that_stopped_before_a_restart_show_late_at_once(instance, estate):
    del estate
    later = datetime.now(UTC) + timedelta(days=3)
    daemon = await instance([DAILY], FakeClock(later))
    await daemon.catalog.run_once()
    assert await daemon.freshness.seed()
    assert value(daemon, "backupd_schedule_late_tables", schedule="daily") == 2
    age = value(daemon, "backupd_schedule_oldest_backup_age_seconds", schedule="daily")
    assert age is not None
    assert age > 2 * DAY
    section = daemon.kernel.board.snapshot()["freshness"]["schedules"]["daily"]
    assert section["late"] == 2
    # orders-a's backup is older than the 49 h window listed: neither has one since its start
    window_start = daemon.kernel.board.snapshot()["freshness"]["window_start"]
    assert [(t["table"], t["last_backup"], t["since"]) for t in section["late_tables"]] == [
        ("orders-a", None, window_start), ("orders-b", None, window_start)]


async def test_freshness_is_seeded_before_the_daemon_reports_ready(instance, estate):
    del estate
    daemon = await instance([DAILY], FakeClock(datetime.now(UTC)))
    stop = asyncio.Event()
    runner = asyncio.create_task(daemon.freshness.run(stop))
    try:
        await asyncio.sleep(0.3)
        health = daemon.kernel.board.health["freshness"]
        assert (health.ready, health.detail) == (False, "seeding freshness from AWS")
        assert daemon.kernel.board.snapshot()["freshness"]["seeded"] is False
        await daemon.catalog.run_once()  # discovery lists the tables: the seed can finish
        async with asyncio.timeout(5):
            await daemon.freshness.seeded.wait()
        assert daemon.kernel.board.health["freshness"].ready
    finally:
        stop.set()
        await runner


async def test_each_leadership_term_seeds_again_and_stops_reporting_at_its_end(
        instance, estate, ddb):
    del estate
    daemon = await instance([DAILY], FakeClock(datetime.now(UTC) + timedelta(seconds=1)))
    await daemon.catalog.run_once()

    async def one_term() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(daemon.freshness.run(stop))
        try:
            async with asyncio.timeout(5):
                await daemon.freshness.seeded.wait()
            assert value(daemon, "backupd_schedule_late_tables", schedule="daily") == 0
        finally:
            stop.set()
            await runner

    await one_term()
    assert not daemon.freshness.seeded.is_set()
    assert value(daemon, "backupd_schedule_late_tables", schedule="daily") is None
    ddb.create_backup(TableName="orders-b", BackupName="made-while-we-followed")
    await one_term()  # the new term lists again and finds it
    assert daemon.freshness.book.get("orders-b") == created_at(ddb, "orders-b")


async def test_a_seed_that_keeps_failing_lets_the_daemon_be_ready_with_the_cause(
        instance, estate, monkeypatch):
    del estate

    async def denied(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}},
                          "ListBackups")

    monkeypatch.setattr(freshness_module, "list_native_backups", denied)
    daemon = await instance([DAILY], FakeClock(datetime.now(UTC)))
    stop = asyncio.Event()
    with capture_logs() as logs:
        runner = asyncio.create_task(daemon.freshness.run(stop))
        try:
            async with asyncio.timeout(5):
                while not getattr(daemon.kernel.board.health.get("freshness"), "ready", False):
                    await asyncio.sleep(0.05)
        finally:
            stop.set()
            await runner
    health = daemon.kernel.board.health["freshness"]
    assert health.detail is not None
    assert "AccessDeniedException" in health.detail
    assert any(e["event"] == "freshness.seed_failed" for e in logs)
    assert not daemon.freshness.seeded.is_set()
    assert value(daemon, "backupd_schedule_oldest_backup_age_seconds", schedule="daily") is None


async def test_completions_on_the_bus_and_later_listings_move_tables_forward(
        instance, estate, ddb):
    del estate
    now = datetime.now(UTC) + timedelta(seconds=1)
    daemon = await instance([DAILY], FakeClock(now))
    await daemon.catalog.run_once()
    await daemon.freshness.seed()
    table_arn = daemon.catalog.tables["orders-a"].arn
    assert table_arn is not None
    daemon.kernel.bus.publish(BackupCompleted(
        recovery_point_arn=f"{table_arn}/backup/x", resource_arn=table_arn,
        resource_type="DynamoDB", created=now, origin="event", region="us-east-1"))
    await daemon.kernel.bus.drain()
    assert value(daemon, "backupd_table_last_backup_timestamp_seconds", schedule="daily",
                 table="orders-a") == now.timestamp()
    ddb.create_backup(TableName="orders-b", BackupName="made-by-someone-else")
    daemon.clock.advance(60)
    assert await daemon.freshness.refresh() == 1
    assert value(daemon, "backupd_table_last_backup_timestamp_seconds", schedule="daily",
                 table="orders-b") == created_at(ddb, "orders-b").timestamp()


async def test_a_backup_of_another_accounts_table_of_the_same_name_is_not_this_ones(
        instance, estate):
    """Events come from a whole Organization: a member's `orders-a` backed up says nothing
    about this account's `orders-a`, whose newest backup stays what it was."""
    del estate
    now = datetime.now(UTC) + timedelta(seconds=1)
    daemon = await instance([DAILY], FakeClock(now))
    await daemon.catalog.run_once()
    await daemon.freshness.seed()
    own = daemon.catalog.tables["orders-a"].arn
    assert own is not None
    member = own.replace(f":{own.split(':')[4]}:", ":999999999999:")
    before = value(daemon, "backupd_table_last_backup_timestamp_seconds", schedule="daily",
                   table="orders-a")
    assert before != now.timestamp()
    daemon.kernel.bus.publish(BackupCompleted(
        recovery_point_arn=f"{member}/backup/x", resource_arn=member,
        resource_type="DynamoDB", created=now, origin="event", region="us-east-1"))
    await daemon.kernel.bus.drain()
    assert value(daemon, "backupd_table_last_backup_timestamp_seconds", schedule="daily",
                 table="orders-a") == before


async def test_aws_backup_jobs_count_and_seed_an_aws_backup_schedules_last_success(
        instance, make_table, make_vault, backup_fake):
    table = make_table("orders-x")
    vault = make_vault()
    role = "arn:aws:iam::123456789012:role/backup"
    schedule = {"name": "vaulted", "expression": "rate(1 hour)", "tables": ["orders-*"],
                "engine": "aws-backup", "backup_vault": vault.name, "iam_role_arn": role}
    job = backup_fake.inject_job(table.arn, vault.name, state="COMPLETED", iam_role_arn=role)
    daemon = await instance([schedule], FakeClock(datetime.now(UTC)))
    await daemon.catalog.run_once()
    await daemon.freshness.seed()
    created = job.creation_date
    assert value(daemon, "backupd_table_last_backup_timestamp_seconds", schedule="vaulted",
                 table="orders-x") == pytest.approx(created.timestamp(), abs=1)
    slot = created.replace(minute=0, second=0, microsecond=0)
    assert value(daemon, "backupd_schedule_last_success_timestamp_seconds",
                 schedule="vaulted") == slot.timestamp()


async def test_per_table_series_can_be_turned_off_and_a_follower_exports_none(instance,
                                                                              estate):
    del estate
    daemon = await instance([DAILY], FakeClock(datetime.now(UTC)), metrics={"per_table": False})
    await daemon.catalog.run_once()
    await daemon.freshness.seed()
    assert value(daemon, "backupd_table_last_backup_timestamp_seconds", schedule="daily",
                 table="orders-a") is None
    assert value(daemon, "backupd_schedule_late_tables", schedule="daily") == 0
    daemon.kernel.leadership.set(False)
    assert value(daemon, "backupd_schedule_late_tables", schedule="daily") is None


async def test_freshness_datums_name_each_schedule_and_the_total(instance, estate):
    del estate
    now = datetime.now(UTC) + timedelta(days=3)
    daemon = await instance([DAILY], FakeClock(now))
    assert daemon.freshness.datums(now) == [], "nothing before the seed"
    await daemon.catalog.run_once()
    await daemon.freshness.seed()
    got = {(d["MetricName"], tuple(x["Value"] for x in d["Dimensions"])): d["Value"]
           for d in daemon.freshness.datums(now)}
    assert got[("LateTables", ("daily",))] == got[("LateTables", ())] == 2
    assert got[("OldestBackupAgeSeconds", ("daily",))] > 2 * DAY


async def test_coverage_finds_unselected_tables_pitr_off_and_rpo_breaches(
        instance, make_table, ddb, make_queue, make_topic):
    make_table("orders-a", pitr=True)
    make_table("orders-b")
    make_table("users")
    make_table("scratch-1")
    ddb.create_backup(TableName="orders-a", BackupName="manual")
    exports = [{"name": "lake", "source_pattern": "^orders-", "bucket": "lake-bucket"}]
    daemon = await instance(
        [DAILY], FakeClock(datetime.now(UTC) + timedelta(hours=30)), exports=exports,
        coverage={"rpo_seconds": DAY, "exclude": ["scratch-*"], "alert": True})
    await daemon.catalog.run_once()
    await daemon.freshness.seed()
    assert daemon.coverage is not None
    found = await daemon.coverage.run_once()
    assert found.unselected == ("users",)
    assert found.pitr_off == ("orders-b",)
    assert [a.table for a in found.rpo_breached] == ["orders-b", "users", "orders-a"]
    assert value(daemon, "backupd_coverage_gap_tables", gap="unselected") == 1
    assert value(daemon, "backupd_coverage_gap_tables", gap="rpo_breached") == 3
    assert daemon.kernel.alerts.pending() == 1
    await daemon.coverage.run_once()
    assert daemon.kernel.alerts.pending() == 1, "only tables that enter a gap alert again"
    section = daemon.kernel.board.snapshot()["coverage"]
    assert section["gaps"]["unselected"] == {"count": 1, "tables": ["users"]}
    assert section["gaps"]["pitr_off"] == {"count": 1, "tables": ["orders-b"]}
    assert section["selectors"] == ["schedule:daily"]
    assert [(d["MetricName"], d["Value"], d["Dimensions"])
            for d in daemon.coverage.datums(daemon.clock.now())] == [
        ("UnprotectedTables", 1.0, [])]
