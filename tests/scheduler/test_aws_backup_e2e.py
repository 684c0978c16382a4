"""The aws-backup engine end to end against the stand-in's AWS Backup fake."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from daemon.core.clock import FakeClock
from daemon.core.scheduling.inventory import TAG_SCHEDULE, TAG_SLOT
from tests.fixtures.standin import boto3_client

pytestmark = pytest.mark.e2e
ROLE = "arn:aws:iam::123456789012:role/backup-role"


def recent_slot() -> tuple[str, datetime]:
    """A daily cron() whose last slot was two minutes ago (jobs get real creation times)."""
    slot = (datetime.now(UTC) - timedelta(minutes=2)).replace(second=0, microsecond=0)
    return f"cron({slot.minute} {slot.hour} * * ? *)", slot


def spec(vault: str, expression: str, **extra: object) -> dict[str, object]:
    return {"name": "nightly", "expression": expression, "tables": ["orders-*"],
            "engine": "aws-backup", "backup_vault": vault, "iam_role_arn": ROLE,
            "start_window_minutes": 120, **extra}


async def test_two_schedulers_start_one_job_per_table_with_token_lifecycle_and_tags(
        instance, make_table, make_vault, backup_fake):
    vault = make_vault()
    tables = [make_table(f"orders-{i}") for i in range(3)]
    expression, slot = recent_slot()
    schedule = spec(vault.name, expression, retention={"keep_days": 7})
    one = await instance([schedule], FakeClock(datetime.now(UTC)))
    two = await instance([schedule], FakeClock(datetime.now(UTC)))
    await asyncio.gather(one.catalog.run_once(), two.catalog.run_once())
    now = datetime.now(UTC)
    await asyncio.gather(one.scheduler.run_once(now), two.scheduler.run_once(now))
    jobs = backup_fake.jobs()
    assert sorted(j.resource_arn for j in jobs) == sorted(t.arn for t in tables)
    assert {j.vault_name for j in jobs} == {vault.name}
    assert all(j.lifecycle == {"DeleteAfterDays": 7} for j in jobs)
    assert all(j.recovery_point_tags == {TAG_SCHEDULE: "nightly", TAG_SLOT: slot.isoformat()}
               for j in jobs)
    assert len({j.idempotency_token for j in jobs}) == 3


async def test_complete_window_minutes_reaches_start_backup_job(
        instance, make_table, make_vault, backup_fake):
    """A schedule's complete_window_minutes is StartBackupJob's CompleteWindowMinutes, next
    to its StartWindowMinutes; a schedule without one sends none (AWS's default applies)."""
    vault = make_vault()
    make_table("orders-1")
    expression, _ = recent_slot()
    daemon = await instance([spec(vault.name, expression, complete_window_minutes=720)],
                            FakeClock(datetime.now(UTC)))
    await daemon.tick()
    [job] = backup_fake.jobs()
    assert job.complete_window_minutes == 720
    assert job.start_by - job.creation_date == timedelta(minutes=120)
    make_table("orders-2")
    other = await instance([{**spec(vault.name, expression), "name": "plain"}],
                           FakeClock(datetime.now(UTC)))
    await other.tick()
    [plain] = [j for j in backup_fake.jobs() if j.resource_arn.endswith("orders-2")]
    assert plain.complete_window_minutes is None


async def test_a_restarted_scheduler_reads_the_jobs_back_and_starts_none(
        instance, make_table, make_vault, backup_fake):
    vault = make_vault()
    make_table("orders-1")
    expression, _ = recent_slot()
    first = await instance([spec(vault.name, expression)], FakeClock(datetime.now(UTC)))
    await first.tick()
    second = await instance([spec(vault.name, expression)], FakeClock(datetime.now(UTC)))
    await second.tick()
    assert len(backup_fake.jobs()) == 1
    assert second.metric("backupd_scheduled_backups_total", schedule="nightly",
                         engine="aws-backup", outcome="started") == 0


async def test_rules_beyond_keep_days_prune_only_the_daemons_recovery_points(
        instance, make_table, make_vault, backup_fake, fresh_standin):
    vault = make_vault()
    table = make_table("orders-1")
    days = [datetime(2026, 11, d, 5, tzinfo=UTC) for d in (20, 21, 22)]
    for day in days:
        backup_fake.inject_job(table.arn, vault.name, state="COMPLETED", recovery_point_tags={
            TAG_SCHEDULE: "nightly", TAG_SLOT: day.isoformat()})
    backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")  # not the daemon's
    expression, _ = recent_slot()
    daemon = await instance([spec(vault.name, expression, retention={"keep_last": 1})],
                            FakeClock(datetime(2026, 11, 23, tzinfo=UTC)))
    await daemon.catalog.run_once()
    await daemon.retention.run_once(daemon.clock.now())
    backup = boto3_client(fresh_standin, "backup")
    left = [backup.list_tags(ResourceArn=rp.arn).get("Tags", {})
            for rp in backup_fake.recovery_points()]
    assert sorted(tags.get(TAG_SLOT, "not ours") for tags in left) == [
        days[-1].isoformat(), "not ours"]
    assert daemon.metric("backupd_retention_deletions_total", schedule="nightly",
                         outcome="deleted") == 2
