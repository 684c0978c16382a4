"""Restart to seeded freshness at 10 000 tables, and the AWS calls it takes.

`freshness_seed_10k_tables_s`: a restarted leader's table discovery and freshness components,
built by the daemon's own scheduling `wire()` with the default settings (rate limits included),
run as the supervisor runs them, from the start until freshness is seeded (what /readyz waits
for). The account holds 10 000 tables under one daily schedule keeping 7 days: 9 000 backed
up natively (7 backups each, one per day at 05:00 plus the spread), 1 000 by an AWS Backup
plan (7 completed jobs each). The restart is at 12:00, so the lookback (2 x 1 day + 1 h)
holds two backups of every table. Every AWS call made until then is counted by operation.

AWS is an in-process fake that pages exactly as AWS documents it (ListTables 100 names,
ListBackups at most 100 summaries and honouring TimeRangeLowerBound, ListBackupJobs 1 000),
and answers at once. The local stand-in cannot stand in here: moto's ListBackups ignores
Limit and TimeRangeLowerBound (one call returns everything, which would understate the
calls), and creating 10 000 tables and 70 000 backups in it takes many minutes. The time is
therefore the daemon's own work plus its rate limits (ListBackups: 5 calls/s per account),
which bound it from below at calls / 5 s.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.common import Figure, Target, exit_with, figure
from benchmarks.inprocess import quiet_logging
from daemon.app import build_kernel
from daemon.config.settings import Settings
from daemon.core.clock import FakeClock
from daemon.core.scheduling.freshness import FreshnessReport
from daemon.kernel.supervisor import Component, supervise
from daemon.obs.metrics import Metrics
from daemon.scheduling.discovery import TableCatalog
from daemon.scheduling.freshness import FreshnessTracker
from daemon.scheduling.wire import wire

TABLES = 10_000
AWS_BACKUP_TABLES = 1_000
DAYS_KEPT = 7
NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/backup-plan"
TARGET_S = 60.0


def table_arn(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


class FakeAws:
    """DynamoDB and AWS Backup as far as discovery and the freshness seed call them."""

    def __init__(self, tables: int, aws_backup_tables: int) -> None:
        self.calls: Counter[str] = Counter()
        self.names = sorted(f"t-{i:05d}" for i in range(tables))
        self.backups: list[dict[str, Any]] = []
        self.jobs: list[dict[str, Any]] = []
        for i, name in enumerate(self.names):
            for day in range(DAYS_KEPT):
                slot = NOW.replace(hour=5) - timedelta(days=day)
                created = slot + timedelta(seconds=i % 300)  # the spread
                if i < aws_backup_tables:
                    self.jobs.append(self._job(name, created, i, day))
                else:
                    self.backups.append({
                        "TableName": name, "TableArn": table_arn(name),
                        "BackupArn": f"{table_arn(name)}/backup/{created:%Y%m%d}-{i:05d}",
                        "BackupName": f"backupd-daily-{slot:%Y%m%d%H%M}",
                        "BackupCreationDateTime": created, "BackupStatus": "AVAILABLE",
                        "BackupType": "USER"})
        self.backups.sort(key=lambda b: b["BackupCreationDateTime"])
        self.position = {b["BackupArn"]: i for i, b in enumerate(self.backups)}

    @staticmethod
    def _job(name: str, created: datetime, i: int, day: int) -> dict[str, Any]:
        return {"BackupJobId": f"job-{i:05d}-{day}", "ResourceArn": table_arn(name),
                "ResourceType": "DynamoDB", "State": "COMPLETED", "CreationDate": created,
                "CompletionDate": created + timedelta(minutes=3), "BackupVaultName": "plans",
                "IamRoleArn": ROLE, "CreatedBy": {"BackupPlanId": "plan-1"},
                "RecoveryPointArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:{i}-{day}"}

    async def dynamodb(self) -> FakeAws:  # `AwsClients`' typed accessors: all this one object
        return self

    async def backup(self) -> FakeAws:
        return self

    async def sns(self) -> FakeAws:
        return self

    async def list_tables(self, **kw: Any) -> dict[str, Any]:
        self.calls["dynamodb.ListTables"] += 1
        after = kw.get("ExclusiveStartTableName", "")
        rest = [n for n in self.names if n > after][:min(kw.get("Limit", 100), 100)]
        out: dict[str, Any] = {"TableNames": rest}
        if rest and rest[-1] != self.names[-1]:
            out["LastEvaluatedTableName"] = rest[-1]
        return out

    async def describe_table(self, **kw: Any) -> dict[str, Any]:
        self.calls["dynamodb.DescribeTable"] += 1
        name = kw["TableName"]
        return {"Table": {"TableName": name, "TableArn": table_arn(name),
                          "TableSizeBytes": 2**30, "CreationDateTime": NOW - timedelta(days=400)}}

    async def list_backups(self, **kw: Any) -> dict[str, Any]:
        """At most 100 summaries a page, from TimeRangeLowerBound on, as AWS pages them."""
        self.calls["dynamodb.ListBackups"] += 1
        assert kw.get("BackupType", "USER") == "USER"
        since, size = kw.get("TimeRangeLowerBound"), min(kw.get("Limit", 100), 100)
        last = kw.get("ExclusiveStartBackupArn")
        start = 0 if last is None else self.position[last] + 1
        page: list[dict[str, Any]] = []
        index = start
        for index in range(start, len(self.backups)):
            item = self.backups[index]
            if since is None or item["BackupCreationDateTime"] >= since:
                page.append(item)
                if len(page) == size:
                    break
        out: dict[str, Any] = {"BackupSummaries": page}
        if page and index < len(self.backups) - 1:
            out["LastEvaluatedBackupArn"] = page[-1]["BackupArn"]
        return out

    async def list_backup_jobs(self, **kw: Any) -> dict[str, Any]:
        """Filtered by state, type and completion, 1 000 a page (MaxResults' maximum)."""
        self.calls["backup.ListBackupJobs"] += 1
        jobs = [j for j in self.jobs if j["State"] == kw["ByState"]
                and j["ResourceType"] == kw["ByResourceType"]
                and j["CompletionDate"] >= kw["ByCompleteAfter"]]
        start, size = int(kw.get("NextToken") or 0), kw.get("MaxResults", 1000)
        out: dict[str, Any] = {"BackupJobs": jobs[start:start + size]}
        if start + size < len(jobs):
            out["NextToken"] = str(start + size)
        return out


def restarted(fake: FakeAws) -> tuple[TableCatalog, FreshnessTracker]:
    """A restarted leader's discovery and freshness, as the composition root builds them."""
    settings = Settings(region=REGION, cloudwatch={"enabled": False}, schedules=[
        {"name": "daily", "expression": "cron(0 5 * * ? *)", "tables": ["*"],
         "retention": {"keep_days": DAYS_KEPT}}])
    metrics = Metrics()
    aws: Any = fake  # the typed accessors, duck-typed
    scheduling = wire(settings, aws, build_kernel(settings, aws, metrics, FakeClock(NOW)))
    return scheduling.catalog, scheduling.freshness


async def seed_time(fake: FakeAws,
                    ) -> tuple[float, float, dict[str, int], FreshnessTracker, FreshnessReport]:
    """(wall seconds, CPU seconds, calls by operation) from start to seeded, the tracker and
    its report then (taken before the stop: a leader that stops reports nothing)."""
    catalog, freshness = restarted(fake)
    stop = asyncio.Event()
    components: list[Component] = [catalog, freshness]
    cpu, wall = time.process_time(), time.monotonic()
    runner = asyncio.create_task(supervise(components, stop))
    await freshness.seeded.wait()
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    calls = dict(fake.calls)
    report = freshness.report()
    assert report is not None
    stop.set()
    runner.cancel()  # discovery's 10 000 DescribeTable calls would go on for 17 minutes
    await asyncio.gather(runner, return_exceptions=True)
    return wall, cpu, calls, freshness, report


def run() -> list[Figure]:
    quiet_logging()
    fake = FakeAws(TABLES, AWS_BACKUP_TABLES)
    wall, cpu, calls, freshness, report = asyncio.run(seed_time(fake))
    (daily,) = report.schedules
    if (daily.tables, daily.late, len(freshness.book)) != (TABLES, 0, TABLES):
        raise RuntimeError(f"seeded wrongly: {daily}, {len(freshness.book)} tables with backups")
    seed_calls = {k: v for k, v in calls.items() if k != "dynamodb.DescribeTable"}
    total = sum(seed_calls.values())
    return [figure(
        "freshness_seed_10k_tables_s", wall, "s", Target("<", TARGET_S),
        note=f"{TABLES} tables ({AWS_BACKUP_TABLES} by AWS Backup), {total} AWS calls to seed "
             f"({', '.join(f'{k} {v}' for k, v in sorted(seed_calls.items()))}); "
             f"{cpu:.2f} s CPU; the rest is the rate limits (ListBackups: 5/s); discovery's "
             f"DescribeTable meanwhile: {calls.get('dynamodb.DescribeTable', 0)}",
        aws_calls=total, aws_calls_by_operation=seed_calls, cpu_s=round(cpu, 3))]


if __name__ == "__main__":
    exit_with(run)
