"""The dynamodb engine end to end, over HTTP against the stand-in: one backup per table per slot,
whatever happens to the daemon in between."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from daemon.core.clock import FakeClock
from daemon.scheduling.engines import NativeEngine
from tests.scheduler.conftest import backup_names

pytestmark = pytest.mark.e2e
SLOT = datetime(2026, 11, 24, 5, tzinfo=UTC)
HOURLY = {"name": "hourly", "expression": "rate(1 hour)", "tables": ["orders-*"]}


def per_table(names: list[str]) -> Counter[str]:
    return Counter(name.split("@")[1] for name in names)


async def test_each_selected_table_gets_one_named_backup_per_slot(instance, make_table, ddb):
    for name in ("orders-a", "orders-b", "users"):
        make_table(name)
    daemon = await instance([HOURLY], FakeClock(SLOT + timedelta(seconds=5)))
    await daemon.tick()
    await daemon.tick(SLOT + timedelta(minutes=1))
    assert backup_names(ddb) == ["backupd-hourly-202611240500@orders-a",
                                 "backupd-hourly-202611240500@orders-b"]
    assert daemon.metric("backupd_scheduled_backups_total", schedule="hourly",
                         engine="dynamodb", outcome="completed") == 2
    assert daemon.metric("backupd_schedule_last_success_timestamp_seconds",
                         schedule="hourly") == SLOT.timestamp()
    await daemon.tick(SLOT + timedelta(hours=1, seconds=5))
    assert per_table(backup_names(ddb)) == {"orders-a": 2, "orders-b": 2}


async def test_a_backup_made_but_not_recorded_is_not_made_again(instance, make_table, ddb,
                                                                monkeypatch):
    """A crash between CreateBackup and recording it: AWS's listing says it is done."""
    for i in range(3):
        make_table(f"orders-{i}")
    real_start = NativeEngine.start

    async def start_then_fail(self: NativeEngine, *args: Any) -> Any:
        await real_start(self, *args)
        raise RuntimeError("lost the answer")

    monkeypatch.setattr(NativeEngine, "start", start_then_fail)
    daemon = await instance([HOURLY], FakeClock(SLOT))
    await daemon.tick()
    monkeypatch.setattr(NativeEngine, "start", real_start)
    await daemon.tick(SLOT + timedelta(seconds=30))
    assert per_table(backup_names(ddb)) == {"orders-0": 1, "orders-1": 1, "orders-2": 1}


async def test_a_restart_in_the_middle_of_a_run_finishes_it_without_doubles(
        instance, make_table, ddb, monkeypatch):
    for i in range(5):
        make_table(f"orders-{i}")
    real_start = NativeEngine.start
    calls = 0
    crash_point = asyncio.Event()

    async def start_and_hang_on_the_third(self: NativeEngine, *args: Any) -> Any:
        nonlocal calls
        out = await real_start(self, *args)
        calls += 1
        if calls == 3:
            crash_point.set()
            await asyncio.Event().wait()  # the process dies here, answer unrecorded
        return out

    monkeypatch.setattr(NativeEngine, "start", start_and_hang_on_the_third)
    first = await instance([HOURLY], FakeClock(SLOT))
    await first.catalog.run_once()
    run = asyncio.create_task(first.scheduler.run_once(SLOT))
    await crash_point.wait()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    made_before_the_crash = len(backup_names(ddb))
    assert made_before_the_crash >= 3
    monkeypatch.setattr(NativeEngine, "start", real_start)
    second = await instance([HOURLY], FakeClock(SLOT + timedelta(minutes=2)))
    await second.tick()
    assert per_table(backup_names(ddb)) == {f"orders-{i}": 1 for i in range(5)}
    assert second.metric("backupd_scheduled_backups_total", schedule="hourly",
                         engine="dynamodb", outcome="started") == 5 - made_before_the_crash


async def test_two_schedulers_at_once_end_with_one_backup_per_table_per_slot(
        instance, make_table, ddb):
    for i in range(6):
        make_table(f"orders-{i}")
    one = await instance([HOURLY], FakeClock(SLOT))
    two = await instance([HOURLY], FakeClock(SLOT))
    await asyncio.gather(one.catalog.run_once(), two.catalog.run_once())
    await asyncio.gather(one.scheduler.run_once(SLOT), two.scheduler.run_once(SLOT))
    later = SLOT + timedelta(seconds=20)
    await asyncio.gather(one.scheduler.run_once(later), two.scheduler.run_once(later))
    await asyncio.gather(one.scheduler.run_once(later), two.scheduler.run_once(later))
    assert per_table(backup_names(ddb)) == {f"orders-{i}": 1 for i in range(6)}
    started = sum(d.metric("backupd_scheduled_backups_total", schedule="hourly",
                           engine="dynamodb", outcome="started") for d in (one, two))
    removed = sum(d.metric("backupd_retention_deletions_total", schedule="hourly",
                           outcome="duplicate") for d in (one, two))
    assert started - removed == 6


async def test_duplicates_of_a_slot_converge_on_the_earliest(instance, make_table, ddb):
    make_table("orders-x")
    first = ddb.create_backup(TableName="orders-x", BackupName="backupd-hourly-202611240500")
    ddb.create_backup(TableName="orders-x", BackupName="backupd-hourly-202611240500")
    daemon = await instance([HOURLY], FakeClock(SLOT + timedelta(minutes=1)))
    await daemon.tick()
    listed = ddb.list_backups(BackupType="USER")["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == [first["BackupDetails"]["BackupArn"]]


async def test_dry_run_starts_and_deletes_nothing(instance, make_table, ddb):
    make_table("orders-1")
    ddb.create_backup(TableName="orders-1", BackupName="backupd-hourly-202611230500")
    ddb.create_backup(TableName="orders-1", BackupName="backupd-hourly-202611230600")
    spec = {**HOURLY, "retention": {"keep_last": 1}}
    daemon = await instance([spec], FakeClock(SLOT), dry_run=True)
    await daemon.tick(prune=True)
    assert len(backup_names(ddb)) == 2
    assert daemon.metric("backupd_scheduled_backups_total", schedule="hourly",
                         engine="dynamodb", outcome="dry_run") == 1
    assert daemon.metric("backupd_retention_deletions_total", schedule="hourly",
                         outcome="dry_run") == 1


async def test_a_minutely_schedule_with_keep_last_2_creates_and_prunes(instance, make_table,
                                                                        ddb):
    """The demo's schedule: every minute, keep the last two."""
    make_table("orders-demo")
    spec = {"name": "demo", "expression": "rate(1 minute)", "tables": ["*"],
            "retention": {"keep_last": 2}}
    daemon = await instance([spec], FakeClock(SLOT))
    for minute in range(4):
        await daemon.tick(SLOT + timedelta(minutes=minute, seconds=1), prune=True)
    assert backup_names(ddb) == ["backupd-demo-202611240502@orders-demo",
                                 "backupd-demo-202611240503@orders-demo"]
    assert daemon.metric("backupd_retention_deletions_total", schedule="demo",
                         outcome="deleted") == 2


async def test_after_downtime_one_catch_up_run_and_older_slots_are_counted_missed(
        instance, make_table, ddb):
    make_table("orders-1")
    spec = {**HOURLY, "start_window_minutes": 10}
    before = await instance([spec], FakeClock(SLOT))
    await before.tick()
    after = await instance([spec], FakeClock(SLOT + timedelta(hours=3, minutes=5)))
    await after.tick()
    assert backup_names(ddb) == ["backupd-hourly-202611240500@orders-1",
                                 "backupd-hourly-202611240800@orders-1"]
    assert after.metric("backupd_schedule_missed_slots_total", schedule="hourly") == 2
    assert after.kernel.board.snapshot()["schedules"]["hourly"]["missed_slots"] == 2


async def test_a_slot_past_its_window_at_start_is_missed_not_run(instance, make_table, ddb):
    make_table("orders-1")
    spec = {**HOURLY, "start_window_minutes": 10}
    before = await instance([spec], FakeClock(SLOT))
    await before.tick()
    after = await instance([spec], FakeClock(SLOT + timedelta(hours=2, minutes=30)))
    await after.tick()
    assert backup_names(ddb) == ["backupd-hourly-202611240500@orders-1"]
    assert after.metric("backupd_schedule_missed_slots_total", schedule="hourly") == 2
    assert after.kernel.board.snapshot()["schedules"]["hourly"]["missed_slots"] == 2


async def test_status_lists_each_schedules_next_run_last_success_and_last_result(
        instance, make_table):
    """Every time in the section is RFC 3339 UTC with Z, as everywhere on /status."""
    make_table("orders-1")
    daemon = await instance([HOURLY], FakeClock(SLOT))
    await daemon.tick()
    await daemon.tick(SLOT + timedelta(hours=1, seconds=1))
    section = daemon.kernel.board.snapshot()["schedules"]["hourly"]
    assert section["next_run"] == "2026-11-24T07:00:00Z"
    assert section["last_result"]["slot"] == "2026-11-24T05:00:00Z"
    assert section["last_success"] == "2026-11-24T06:00:00Z"
    assert section["missed_slots"] == 0
    assert section["last_result"]["tables_done"] == 1
    assert section["current_slot"]["done"] == 1


async def test_every_schedules_counters_exist_at_zero_and_its_interval_is_exported(instance):
    daemon = await instance([HOURLY, {"name": "weekdays", "tables": ["*"],
                                      "expression": "cron(0 9 ? * MON-FRI *)"}],
                            FakeClock(SLOT))
    registry = daemon.kernel.metrics.registry
    for outcome in ("started", "completed", "failed", "missed", "dry_run"):
        assert registry.get_sample_value("backupd_scheduled_backups_total", {
            "schedule": "weekdays", "engine": "dynamodb", "outcome": outcome}) == 0
    for outcome in ("deleted", "failed", "dry_run", "duplicate"):
        assert registry.get_sample_value("backupd_retention_deletions_total", {
            "schedule": "hourly", "outcome": outcome}) == 0
    assert daemon.metric("backupd_schedule_missed_slots_total", schedule="weekdays") == 0
    assert daemon.metric("backupd_schedule_expected_interval_seconds",
                         schedule="weekdays") == 3 * 86400
    await daemon.tick()
    assert daemon.metric("backupd_schedule_next_run_timestamp_seconds",
                         schedule="hourly") == (SLOT + timedelta(hours=1)).timestamp()


async def test_a_retried_start_publishes_only_the_backup_the_slot_keeps(
        instance, make_table, ddb, monkeypatch):
    """A CreateBackup whose answer was lost and that was retried made two backups: the later
    one, which the start returned, is deleted as the duplicate, so its completion must not
    reach the restore and export rules; the earliest one's does, once."""
    make_table("orders-r")
    real_start = NativeEngine.start
    made: list[str] = []

    async def start_twice(self: NativeEngine, *args: Any) -> Any:
        made.append((await real_start(self, *args)).arn)  # its answer was lost
        again = await real_start(self, *args)  # the retry
        made.append(again.arn)
        return again

    monkeypatch.setattr(NativeEngine, "start", start_twice)
    daemon = await instance([HOURLY], FakeClock(SLOT + timedelta(seconds=5)))
    published: list[str] = []

    async def seen(item: Any) -> None:
        published.append(item.recovery_point_arn)

    daemon.kernel.bus.subscribe(seen)
    await daemon.tick()
    await daemon.tick(SLOT + timedelta(minutes=1))
    await asyncio.sleep(0.1)  # the bus's handlers run as tasks
    earliest, duplicate = made
    assert published == [earliest]
    listed = ddb.list_backups(BackupType="USER")["BackupSummaries"]
    assert [b["BackupArn"] for b in listed] == [earliest]
    assert duplicate not in published
    assert daemon.metric("backupd_scheduled_backups_total", schedule="hourly",
                         engine="dynamodb", outcome="completed") == 1
