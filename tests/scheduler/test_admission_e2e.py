"""Admission control and failure alerts, end to end on the stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from daemon.core.clock import FakeClock
from daemon.scheduling.engines import NativeEngine, Started
from tests.scheduler.conftest import backup_names

pytestmark = pytest.mark.e2e
SLOT = datetime(2026, 11, 24, 5, tzinfo=UTC)
HOURLY = {"name": "hourly", "expression": "rate(1 hour)", "tables": ["t-*"],
          "start_window_minutes": 30}


def running(daemon: Any, monkeypatch: pytest.MonkeyPatch, value: int) -> None:
    """What the job tracker reports as bytes backing up now."""
    monkeypatch.setattr(daemon.kernel.tracker, "running_bytes_total", lambda: value)


async def test_backups_wait_for_room_under_the_budget_then_start(instance, make_table, ddb,
                                                                 monkeypatch):
    for name in ("t-a", "t-b", "t-c"):
        make_table(name, size_bytes=400)
    daemon = await instance([HOURLY], FakeClock(SLOT), limit_bytes=1000)  # budget: 0.9 x 1000
    running(daemon, monkeypatch, 0)
    await daemon.tick()
    assert len(backup_names(ddb)) == 2
    assert daemon.metric("backupd_backups_deferred_total", schedule="hourly") == 1
    assert daemon.metric("backupd_admission_queue_length") == 1
    await daemon.tick(SLOT + timedelta(minutes=1))
    assert len(backup_names(ddb)) == 3
    assert daemon.metric("backupd_admission_queue_length") == 0


async def test_a_backup_still_waiting_when_its_window_ends_is_missed_and_alerted(
        instance, make_table, ddb, monkeypatch):
    make_table("t-a", size_bytes=400)
    daemon = await instance([HOURLY], FakeClock(SLOT), limit_bytes=1000)
    running(daemon, monkeypatch, 800)
    await daemon.tick()
    await daemon.tick(SLOT + timedelta(minutes=31))
    assert backup_names(ddb) == []
    assert daemon.metric("backupd_scheduled_backups_total", schedule="hourly",
                         engine="dynamodb", outcome="missed") == 1
    assert daemon.kernel.alerts.pending() == 1


async def test_a_table_larger_than_the_budget_starts_alone_when_nothing_runs(
        instance, make_table, ddb, monkeypatch):
    make_table("t-huge", size_bytes=5000)
    daemon = await instance([HOURLY], FakeClock(SLOT), limit_bytes=1000)
    running(daemon, monkeypatch, 100)
    await daemon.tick()
    assert backup_names(ddb) == []
    running(daemon, monkeypatch, 0)
    await daemon.tick(SLOT + timedelta(minutes=1))
    assert len(backup_names(ddb)) == 1


async def test_a_native_backup_that_never_becomes_available_raises_an_alert(
        instance, make_table, ddb, monkeypatch):
    """CREATING, then gone: followed with DescribeBackup, reported on the alert path."""
    make_table("t-a")

    async def start_then_vanish(self: NativeEngine, spec: Any, table: Any, slot: Any) -> Any:
        made = ddb.create_backup(TableName=table.name, BackupName="elsewhere")["BackupDetails"]
        ddb.delete_backup(BackupArn=made["BackupArn"])
        return Started(table.name, made["BackupArn"], "CREATING", SLOT)

    monkeypatch.setattr(NativeEngine, "start", start_then_vanish)
    daemon = await instance([HOURLY], FakeClock(SLOT))
    await daemon.tick()
    assert daemon.metric("backupd_scheduled_backups_total", schedule="hourly",
                         engine="dynamodb", outcome="failed") == 1
    assert daemon.kernel.alerts.pending() == 1
