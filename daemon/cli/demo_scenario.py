"""The demo's story: resources on the stand-in, a wave of backup jobs, live lines, a summary.

Besides the wave, the daemon keeps one AWS Backup plan as code (`BACKUP_PLAN`): it creates
its vault with a Vault Lock, the plan and its selection of the tables tagged backup=daily,
and the demo prints what AWS then holds. One export rule (`EXPORT_RULE`) exports the table
`carts` (PITR on) to the bucket `EXPORT_BUCKET` whenever a backup of it completes, and the
demo prints where the export wrote. With member accounts (`--accounts N`, see
`daemon/cli/demo_accounts.py`) each member's job plays beside the wave.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from daemon.app import Daemon, run_daemon
from daemon.cli import demo_accounts
from daemon.config.settings import Settings
from daemon.obs.metrics import Metrics
from daemon.standin import StandIn

GIB = 2**30
LEVELS = {0: "ok", 1: "WARNING", 2: "CRITICAL"}
SSM_PARAMETER = "/demo/orders-staging-table-arn"
TABLES = ["orders-production", "customers-production", "payments-production", "sessions",
          "inventory", "audit-log", "carts", "catalog"]
BACKUP_ROLE = "arn:aws:iam::123456789012:role/ddb-backupd-backup"
EXPORT_BUCKET = "demo-exports"
EXPORTED_TABLE = "carts"
# One export rule: each completed backup of `carts` is exported to S3 at the backup's time.
EXPORT_RULE: dict[str, Any] = {"name": "carts-to-s3", "source_pattern": f"^{EXPORTED_TABLE}$",
                               "bucket": EXPORT_BUCKET, "prefix": "exports"}
# One AWS Backup plan kept as code: the daemon creates it (and its vault) at start.
BACKUP_PLAN: dict[str, Any] = {
    "name": "demo-daily",
    "vault": {"name": "demo-plan-vault", "create": True,
              "lock": {"min_retention_days": 7, "max_retention_days": 365}},
    "rules": [
        {"name": "daily", "expression": "cron(0 5 ? * * *)", "timezone": "Europe/Paris",
         "start_window_minutes": 60, "lifecycle": {"delete_after_days": 35}},
        {"name": "monthly", "expression": "cron(0 3 1 * ? *)",
         "lifecycle": {"move_to_cold_storage_after_days": 30, "delete_after_days": 365}},
    ],
    "selections": [{"name": "tagged-daily", "iam_role_arn": BACKUP_ROLE,
                    "tags": {"backup": "daily"}}],
}


@dataclass(frozen=True, slots=True)
class Wave:
    """One backup job AWS Backup starts at `at` seconds into the demo."""

    at: float
    table: str
    duration: float
    final_state: str = "COMPLETED"


# Table sizes (DescribeTable's TableSizeBytes): what a running job is counted at until AWS
# reports the backup's own size at completion, as for real DynamoDB jobs.
SIZES_GIB = {"orders-production": 14, "customers-production": 14, "payments-production": 14,
             "sessions": 14, "inventory": 14, "audit-log": 12, "carts": 10, "catalog": 25}

# The story: 70 GiB running, +12 crosses 80 % (warning), +10 crosses 90 % (critical); a
# failure and completions bring it back down; a second wave warns again, aborts, and clears.
WAVES = [
    *(Wave(1, t, 30) for t in TABLES[:4]),
    Wave(1, "inventory", 15, "FAILED"),
    Wave(6, "audit-log", 20),
    Wave(11, "carts", 10),
    Wave(34, "orders-production", 16),
    Wave(35, "customers-production", 16),
    Wave(36, "catalog", 12, "ABORTED"),
    Wave(37, "payments-production", 16),
    Wave(39, "audit-log", 14),
    Wave(41, "carts", 10),
]


@dataclass
class Scenario:
    """Everything the demo creates on the stand-in and what it saw happen."""

    standin: StandIn
    limit_gib: int = 100
    tables: list[str] = field(default_factory=lambda: list(TABLES))
    queue_url: str = ""
    inbox_url: str = ""
    topic_arn: str = ""
    vault: str = "demo-vault"
    alerts: list[dict[str, Any]] = field(default_factory=list)
    peak_level: int = 0
    peak_bytes: int = 0
    members: list[str] = field(default_factory=list)  # member accounts (--accounts N)

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.standin.region,
                            endpoint_url=self.standin.endpoint_url,
                            aws_access_key_id="testing",
                            aws_secret_access_key="testing")  # noqa: S106 - the stand-in's dummy

    def setup(self) -> None:
        """Tables with items, event queue + DLQ, alert topic + inbox, vault, event rule."""
        ddb, sqs, sns = self.client("dynamodb"), self.client("sqs"), self.client("sns")
        for name in self.tables:
            ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                             KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                             Tags=[{"Key": "backup", "Value": "daily"}])
            for i in range(20):
                ddb.put_item(TableName=name, Item={"pk": {"S": f"{name}#{i}"},
                                                   "n": {"N": str(i)}})
        dlq = sqs.create_queue(QueueName="backup-events-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": "3"}
        self.queue_url = sqs.create_queue(QueueName="backup-events", Attributes={
            "RedrivePolicy": json.dumps(redrive)})["QueueUrl"]
        self.inbox_url = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=self.inbox_url, AttributeNames=["QueueArn"])
        self.topic_arn = sns.create_topic(Name="backup-alerts")["TopicArn"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs",
                      Endpoint=inbox_arn["Attributes"]["QueueArn"])
        self.client("backup").create_backup_vault(BackupVaultName=self.vault)
        ddb.update_continuous_backups(  # exports read the table at a time inside its PITR window
            TableName=EXPORTED_TABLE,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
        s3 = self.client("s3")
        if self.standin.region == "us-east-1":
            s3.create_bucket(Bucket=EXPORT_BUCKET)
        else:
            s3.create_bucket(Bucket=EXPORT_BUCKET, CreateBucketConfiguration={
                "LocationConstraint": self.standin.region})
        self._seed_old_backups(ddb)
        for name, gib in SIZES_GIB.items():
            self.standin.backup.set_table_size(name, gib * GIB)
        self.standin.backup.set_event_target(self.queue_url)
        demo_accounts.setup(self.standin, self.members)

    @staticmethod
    def _seed_old_backups(ddb: Any) -> None:
        """Three backups the schedule made in earlier minutes, so retention (keep_last 2)
        has something to prune in the first minute."""
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        for minutes_ago in (3, 2, 1):
            slot = now - timedelta(minutes=minutes_ago)
            ddb.create_backup(TableName="orders-production",
                              BackupName=f"backupd-demo-{slot:%Y%m%d%H%M}")

    def table_arn(self, table: str) -> str:
        fake = self.standin.backup
        return f"arn:aws:dynamodb:{fake.region}:{fake.account}:table/{table}"

    async def play(self, settings: Settings, *, seconds: float | None) -> int:
        """Run the daemon against the stand-in while the story plays; print, then summarise."""
        stop = asyncio.Event()
        metrics = Metrics()
        helpers: list[asyncio.Task[None]] = []
        started = time.monotonic()

        async def on_ready(daemon: Daemon) -> None:
            helpers.append(asyncio.create_task(self._waves(started, stop)))
            helpers.append(asyncio.create_task(self._live(daemon, started, stop)))
            helpers.append(asyncio.create_task(self._plan_made(daemon, started, stop)))
            helpers.append(asyncio.create_task(self._exports(daemon, started, stop)))
            if self.members:
                helpers.append(asyncio.create_task(
                    demo_accounts.waves(self.standin, self.members, started, stop)))
            if seconds is not None:
                helpers.append(asyncio.create_task(_stop_after(seconds, stop)))

        code = await run_daemon(settings, metrics=metrics, stop=stop, on_ready=on_ready)
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
        await asyncio.to_thread(self._drain_inbox)
        self._summary(metrics, time.monotonic() - started)
        return code

    async def _waves(self, started: float, stop: asyncio.Event) -> None:
        for wave in WAVES:
            delay = wave.at - (time.monotonic() - started)
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return
            self.standin.backup.inject_job(
                self.table_arn(wave.table), self.vault, state="CREATED",
                size_bytes=SIZES_GIB[wave.table] * GIB, duration=wave.duration,
                final_state=wave.final_state)
            ending = "" if wave.final_state == "COMPLETED" else f" - will end {wave.final_state}"
            print(f"[t+{time.monotonic() - started:4.0f}s] AWS Backup starts a job: {wave.table} "
                  f"({SIZES_GIB[wave.table]} GiB){ending}", flush=True)

    async def _live(self, daemon: Daemon, started: float, stop: asyncio.Event) -> None:
        port = next((getattr(c, "port", None) for c in daemon.components if c.name == "http"),
                    None)
        while port is None and not stop.is_set():
            await asyncio.sleep(0.1)
            port = next((getattr(c, "port", None) for c in daemon.components
                         if c.name == "http"), None)
        print(f"daemon up: status page http://127.0.0.1:{port}/   status "
              f"http://127.0.0.1:{port}/status   metrics http://127.0.0.1:{port}/metrics",
              flush=True)
        while not stop.is_set():
            await asyncio.to_thread(self._drain_inbox, started)
            tracker, metrics = daemon.kernel.tracker, daemon.kernel.metrics
            running = tracker.running_bytes_total()
            level = metrics.registry.get_sample_value("backupd_threshold_level") or 0
            self.peak_level = max(self.peak_level, int(level))
            self.peak_bytes = max(self.peak_bytes, running)
            kinds = Counter(a.get("severity", "?") for a in self.alerts)
            print(f"[t+{time.monotonic() - started:4.0f}s] running jobs {tracker.running_jobs_total():2d}"
                  f" | {running / GIB:6.1f} GiB of {self.limit_gib} GiB"
                  f" ({100 * running / (self.limit_gib * GIB):3.0f} %) | level {LEVELS[int(level)]:8s}"
                  f" | alerts received {len(self.alerts)} {dict(kinds) or ''}", flush=True)
            created = _sum(metrics, "backupd_scheduled_backups_total", outcome="started")
            pruned = _sum(metrics, "backupd_retention_deletions_total", outcome="deleted")
            restored = _sum(metrics, "backupd_tasks_total", kind="restore", outcome="succeeded")
            deferred = _sum(metrics, "backupd_backups_deferred_total")
            pointer = await asyncio.to_thread(self._ssm_value)
            print(f"         scheduler: backups created {created}, deferred by admission"
                  f" control {deferred}, pruned {pruned}"
                  f" | restores finished {restored} | {SSM_PARAMETER} -> {pointer}", flush=True)
            if self.members:
                print(demo_accounts.line(daemon), flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 3.0)

    async def _plan_made(self, daemon: Daemon, started: float, stop: asyncio.Event) -> None:
        """Once the daemon has created the backup plan, print what AWS holds."""
        name = BACKUP_PLAN["name"]
        while not stop.is_set():
            status = daemon.kernel.board.snapshot().get("backup_plans", {}).get(name, {})
            if status.get("plan_id"):
                lines = await asyncio.to_thread(self._plan_lines, status["plan_id"])
                print(f"[t+{time.monotonic() - started:4.0f}s] AWS Backup plan {name} created "
                      "by the daemon from backup_plans: (checked again every 15 s):",
                      flush=True)
                for line in lines:
                    print(f"         {line}", flush=True)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)

    async def _exports(self, daemon: Daemon, started: float, stop: asyncio.Event) -> None:
        """Each export that finishes: a line with where it wrote and how many objects."""
        done = 0
        while not stop.is_set():
            now = _sum(daemon.kernel.metrics, "backupd_tasks_total", kind="export",
                       outcome="succeeded")
            if now > done:
                done = now
                objects = await asyncio.to_thread(self._exported_objects)
                where = f"s3://{EXPORT_BUCKET}/{EXPORT_RULE['prefix']}/{EXPORTED_TABLE}/"
                plural = "" if objects == 1 else "s"
                print(f"[t+{time.monotonic() - started:4.0f}s] export {EXPORT_RULE['name']}: "
                      f"completed backup of {EXPORTED_TABLE} exported to {where} "
                      f"({objects} object{plural} there, exports finished {done})", flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)

    def _exported_objects(self) -> int:
        pages = self.client("s3").get_paginator("list_objects_v2").paginate(
            Bucket=EXPORT_BUCKET, Prefix=f"{EXPORT_RULE['prefix']}/{EXPORTED_TABLE}/")
        return sum(page.get("KeyCount", 0) for page in pages)

    def _plan_lines(self, plan_id: str) -> list[str]:
        """The plan, its vault and its selections, as AWS Backup reports them."""
        backup = self.client("backup")
        plan = backup.get_backup_plan(BackupPlanId=plan_id)
        vault = backup.describe_backup_vault(BackupVaultName=BACKUP_PLAN["vault"]["name"])
        head = (f"vault {vault['BackupVaultName']}: Vault Lock {vault.get('MinRetentionDays')}"
                f"-{vault.get('MaxRetentionDays')} days; plan version "
                f"{plan['VersionId'][:12]}...")
        lines = [head]
        for rule in plan["BackupPlan"]["Rules"]:
            lifecycle = ", ".join(f"{k} {v}" for k, v in rule.get("Lifecycle", {}).items())
            lines.append(f"rule {rule['RuleName']}: {rule['ScheduleExpression']} "
                         f"{rule['ScheduleExpressionTimezone']}, {lifecycle}")
        for item in backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]:
            selection = backup.get_backup_selection(
                BackupPlanId=plan_id, SelectionId=item["SelectionId"])["BackupSelection"]
            tags = ", ".join(f"{t['ConditionKey']}={t['ConditionValue']}"
                             for t in selection["ListOfTags"])
            lines.append(f"selection {selection['SelectionName']}: tables tagged {tags}, "
                         f"role {selection['IamRoleArn'].rsplit('/', 1)[-1]}")
        return lines

    def _ssm_value(self) -> str:
        try:
            value = self.client("ssm").get_parameter(Name=SSM_PARAMETER)["Parameter"]["Value"]
        except Exception:
            return "(not set yet)"
        return str(value).rsplit("/", 1)[-1]

    def _drain_inbox(self, started: float | None = None) -> None:
        """Read the alerts SNS delivered to the inbox queue (as an on-call's pager would)."""
        sqs = self.client("sqs")
        while True:
            got = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10,
                                      WaitTimeSeconds=0).get("Messages", [])
            if not got:
                return
            for m in got:
                envelope = json.loads(m["Body"])
                body = json.loads(envelope.get("Message", "{}"))
                self.alerts.append(body)
                when = f"t+{time.monotonic() - started:4.0f}s" if started else "end"
                print(f"[{when}] ALERT via SNS [{body.get('severity')}] {envelope.get('Subject')}",
                      flush=True)
                sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=m["ReceiptHandle"])

    def _summary(self, metrics: Metrics, elapsed: float) -> None:
        value = metrics.registry.get_sample_value
        finished = {s: int(value("backupd_backup_jobs_finished_total",
                                 {"state": s, "resource_type": "DynamoDB"}) or 0)
                    for s in ("COMPLETED", "FAILED", "ABORTED")}
        events = int(sum(value("backupd_events_total", {"kind": k, "outcome": "handled"}) or 0
                         for k in ("backup_job", "restore_job", "copy_job", "recovery_point")))
        kinds = Counter(a.get("event", "?") for a in self.alerts)
        print(f"\nsummary after {elapsed:.0f} s: {events} events handled; jobs finished {finished};"
              f" peak {self.peak_bytes / GIB:.1f} GiB ({LEVELS[self.peak_level]});"
              f" alerts received {len(self.alerts)} {dict(kinds)}", flush=True)


def _sum(metrics: Metrics, name: str, **labels: str) -> int:
    """Sum of a counter's samples whose labels match `labels`."""
    total = 0.0
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return int(total)


async def _stop_after(seconds: float, stop: asyncio.Event) -> None:
    await asyncio.sleep(seconds)
    stop.set()


def demo_settings(scenario: Scenario, *, port: int) -> Settings:
    """The daemon's configuration for the demo: short intervals and a small limit."""
    return Settings(
        region=scenario.standin.region, queue_url=scenario.queue_url,
        alert_topic_arn=scenario.topic_arn, limit_bytes=scenario.limit_gib * GIB,
        alert_cooldown_seconds=4, reconcile_seconds=15, shutdown_grace_seconds=5,
        aws={"endpoint_url": scenario.standin.endpoint_url},
        queue={"wait_seconds": 1},
        http={"host": "127.0.0.1", "port": port, "history_interval_seconds": 2},
        cloudwatch={"interval_seconds": 10},
        scheduler={"tick_seconds": 2, "discovery_interval_seconds": 10, "spread_seconds": 0},
        schedules=[{"name": "demo", "expression": "rate(1 minute)",
                    "tables": ["orders-production"], "retention": {"keep_last": 2}}],
        restores=[{"name": "staging", "source_pattern": "^(orders)-production$",
                   "replacement": "${1}-staging", "ssm_parameter": SSM_PARAMETER, "keep_last": 2}],
        exports=[EXPORT_RULE],
        tasks={"poll_initial_seconds": 1, "poll_max_seconds": 2, "rescan_seconds": 15,
               "restore_role_arn": "arn:aws:iam::123456789012:role/backup-restore"},
        backup_plans=[BACKUP_PLAN],
        **demo_accounts.settings(scenario.members),
    )
