"""The scheduler's pure hot paths at fleet size, each beside its baseline from the same run.

`schedule_tick_10k_tables_ms`: one tick's due-check over 10 000 tables x 10 schedules (a
mix of cron() in several zones and rate()): per schedule the next run, the due slot inside
its window, the tables whose place in the spread has come and that are not done (half of
them are), and the pending set — what `BackupScheduler._plan` computes between its AWS
calls. Baseline: an empty loop over the same 10 x 10 000 table names.

`retention_100k_backups_ms`: `retention.select` over 100 000 backups of one table with a
GFS policy in Europe/Paris. Baseline: sorting the same list by creation time (the floor
of any selection: it must order them).

CPU time, best of several runs (benchmarks.common.best_of).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from benchmarks.common import Figure, Target, best_of, exit_with, figure
from daemon.core.scheduling.planner import SpreadOrder, due_slot, due_tables
from daemon.core.scheduling.retention import BackupRecord, RetentionPolicy, select
from daemon.core.scheduling.schedule import Expression, parse_expression

TABLES = 10_000
BACKUPS = 100_000
REPEAT = 5
NOW = datetime(2026, 11, 24, 5, 2, 30, tzinfo=UTC)
SCHEDULES = [
    ("every-5-min", "rate(5 minutes)", "UTC"), ("hourly", "rate(1 hour)", "UTC"),
    ("six-hourly", "rate(6 hours)", "UTC"), ("daily", "cron(0 5 * * ? *)", "UTC"),
    ("paris", "cron(0 6 * * ? *)", "Europe/Paris"),
    ("weekdays", "cron(0/15 5-7 ? * MON-FRI *)", "America/New_York"),
    ("last-friday", "cron(0 5 ? * 6L *)", "UTC"), ("month-end", "cron(0 5 LW * ? *)", "UTC"),
    ("second-tue", "cron(0 5 ? * 3#2 *)", "Asia/Tokyo"), ("quarter", "rate(15 minutes)", "UTC"),
]
POLICY = RetentionPolicy(keep_last=10, keep_days=30, keep_hourly=24, keep_daily=14,
                         keep_weekly=8, keep_monthly=24, keep_yearly=5)


def tick_fixture() -> list[tuple[Expression, SpreadOrder, tuple[str, ...], set[str]]]:
    """10 schedules over the same 10 000 tables, half of each already done."""
    tables = tuple(f"orders-{i:05d}" for i in range(TABLES))
    fixture = []
    for name, text, zone in SCHEDULES:
        done = set(random.Random(name).sample(tables, TABLES // 2))
        fixture.append((parse_expression(text, zone), SpreadOrder.of(name, tables), tables, done))
    return fixture


def tick(fixture: list[tuple[Expression, SpreadOrder, tuple[str, ...], set[str]]]) -> int:
    """One tick's pure work; returns how many tables are due (so nothing is optimised away)."""
    due_count = 0
    window = timedelta(hours=1)
    for expression, order, tables, done in fixture:
        expression.after(NOW)
        slot = due_slot(expression, NOW, window)
        if slot is None:
            continue
        due_count += len(due_tables(order, slot, NOW, 300.0, done))
        set(tables).difference(done)
    return due_count


def empty_loop(fixture: list[tuple[Expression, SpreadOrder, tuple[str, ...], set[str]]]) -> None:
    for _, _, tables, _ in fixture:
        for _table in tables:
            pass


def backups() -> list[BackupRecord]:
    """100 000 backups, one every 5 minutes back from now, a few still creating."""
    rng = random.Random(7)
    return [BackupRecord(f"arn:aws:dynamodb:eu-west-1:1:table/t/backup/{i:08d}",
                         NOW - timedelta(minutes=5 * i),
                         "CREATING" if i < 2 else "AVAILABLE", rng.random() > 0.01)
            for i in range(BACKUPS)]


def run() -> list[Figure]:
    fixture = tick_fixture()
    due = tick(fixture)
    tick_s = best_of(lambda: tick(fixture), REPEAT)
    loop_s = best_of(lambda: empty_loop(fixture), REPEAT)
    records = backups()
    zone = ZoneInfo("Europe/Paris")
    select(records[:1000], POLICY, NOW, zone)
    retention_s = best_of(lambda: select(records, POLICY, NOW, zone, max_deletes=None), REPEAT)
    sort_s = best_of(lambda: sorted(records, key=lambda b: (b.created, b.arn), reverse=True),
                     REPEAT)
    return [
        figure("schedule_tick_10k_tables_ms", tick_s * 1000, "ms", Target("<", 100),
               baseline=loop_s * 1000, ratio=tick_s / loop_s,
               note=f"{len(SCHEDULES)} schedules x {TABLES} tables, {due} due this tick; "
               "baseline: empty loop over the same names"),
        figure("retention_100k_backups_ms", retention_s * 1000, "ms", Target("<", 1000),
               baseline=sort_s * 1000, ratio=retention_s / sort_s,
               note=f"{BACKUPS} backups, GFS policy in Europe/Paris; baseline: sorting them"),
    ]


if __name__ == "__main__":
    exit_with(run)
