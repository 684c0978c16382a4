"""Each migration example, loaded as `ddb-backupd run` loads it, does what its AWS sample did.

The example file goes through the daemon's settings loader; the environment overrides only
what must point at the local stand-in (region, endpoint, the queue, topic and bucket the
fixtures create, the HTTP port, short intervals). The whole daemon then runs in-process and
each test waits (at most 30 s) for the one behaviour the sample had.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry

from daemon.app import Daemon, run_daemon
from daemon.config.load import load_settings
from daemon.core.clock import FakeClock
from daemon.obs.metrics import Metrics
from tests.fixtures.standin import boto3_client
from tests.migrate.examples import EXAMPLES

pytestmark = pytest.mark.e2e
SETTLE_SECONDS = 30.0
FAST_TASKS = {"BACKUPD_TASKS__POLL_INITIAL_SECONDS": "0.05",
              "BACKUPD_TASKS__POLL_MAX_SECONDS": "0.2"}


def example(sample: str, monkeypatch: pytest.MonkeyPatch, aws_env: Mapping[str, str],
            **overrides: str) -> Any:
    """The example's Settings, as the loader builds them from the file and the environment."""
    env = {"BACKUPD_CONFIG_FILE": str(EXAMPLES / f"{sample}.yaml"),
           "BACKUPD_REGION": aws_env["AWS_REGION"],
           "BACKUPD_AWS__ENDPOINT_URL": aws_env["AWS_ENDPOINT_URL"],
           "BACKUPD_AWS__MAX_ATTEMPTS": "2",
           "BACKUPD_HTTP__HOST": "127.0.0.1", "BACKUPD_HTTP__PORT": "0",
           "BACKUPD_QUEUE__WAIT_SECONDS": "1", "BACKUPD_RECONCILE_SECONDS": "3600",
           **overrides}
    for key in [k for k in os.environ if k.upper().startswith("BACKUPD_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return load_settings(env)


@asynccontextmanager
async def running(settings: Any, **kwargs: Any) -> AsyncIterator[Daemon]:
    """The whole daemon until the block ends; it must stop cleanly (exit 0)."""
    ready: asyncio.Future[Daemon] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def on_ready(wired: Daemon) -> None:
        ready.set_result(wired)

    task = asyncio.create_task(run_daemon(settings, stop=stop, on_ready=on_ready, **kwargs))
    try:
        yield await asyncio.wait_for(ready, SETTLE_SECONDS)
    finally:
        stop.set()
        assert await task == 0


async def settle(check: Callable[[], Any]) -> Any:
    """Poll `check()` every 100 ms until it holds (at most SETTLE_SECONDS); its last value."""
    async with asyncio.timeout(SETTLE_SECONDS):
        while not (value := check()):
            await asyncio.sleep(0.1)
    return value


def metric(wired: Daemon, name: str, **labels: str) -> float:
    return wired.kernel.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_the_backup_monitor_example_puts_a_running_job_in_cloudwatch(
        monkeypatch: pytest.MonkeyPatch, aws_env: dict[str, str], make_table: Any,
        make_vault: Any, make_queue: Any, make_topic: Any, backup_fake: Any,
        fresh_standin: Any) -> None:
    table = make_table("orders-production", size_bytes=5 * 2**30)
    vault, queue = make_vault("ops"), make_queue()
    backup_fake.set_event_target(queue)
    settings = example("backup-monitor", monkeypatch, aws_env, BACKUPD_QUEUE_URL=queue,
                       BACKUPD_ALERT_TOPIC_ARN=make_topic(),
                       BACKUPD_CLOUDWATCH__INTERVAL_SECONDS="1")
    assert (settings.cloudwatch.enabled, settings.cloudwatch.namespace) == (
        True, "BackupMonitoring")
    cloudwatch = boto3_client(fresh_standin, "cloudwatch")
    async with running(settings) as wired:
        backup_fake.inject_job(table.arn, vault.name, duration=60)
        await settle(lambda: wired.kernel.tracker.running_bytes_total() == 5 * 2**30)
        await settle(lambda: _latest(cloudwatch, "ConcurrentBackupBytes") == 5 * 2**30)
        assert _latest(cloudwatch, "RunningBackupJobs") == 1.0
        # the sample's own metric, where its alarms look for it
        sample = [("Region", aws_env["AWS_REGION"]), ("BackupType", "DynamoDB"),
                  ("VaultName", "ops")]
        await settle(lambda: _latest(cloudwatch, "BackupJobSize", sample) == 5 * 2**30)
        assert metric(wired, "backupd_backup_jobs_running", vault="ops",
                      resource_type="DynamoDB", region=aws_env["AWS_REGION"],
                      account=backup_fake.account) == 1


def _latest(cloudwatch: Any, name: str,
            dimensions: list[tuple[str, str]] | None = None) -> float | None:
    """The datum of `name` with `dimensions` (none: account-wide) put last, or None."""
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="BackupMonitoring", MetricName=name,
        Dimensions=[{"Name": k, "Value": v} for k, v in dimensions or []],
        StartTime=now - timedelta(minutes=5), EndTime=now + timedelta(minutes=1),
        Period=60, Statistics=["Maximum"])["Datapoints"]
    return max((p["Maximum"] for p in points), default=None)


async def test_the_scheduled_backups_example_creates_the_nightly_backup(
        monkeypatch: pytest.MonkeyPatch, aws_env: dict[str, str], make_table: Any,
        fresh_standin: Any) -> None:
    make_table("orders-eu")
    make_table("invoices")
    settings = example("scheduled-backups", monkeypatch, aws_env,
                       BACKUPD_QUEUE_URL="", BACKUPD_ALERT_TOPIC_ARN="",
                       BACKUPD_CLOUDWATCH__ENABLED="false",
                       BACKUPD_SCHEDULER__TICK_SECONDS="0.5",
                       BACKUPD_SCHEDULER__DISCOVERY_INTERVAL_SECONDS="1",
                       BACKUPD_SCHEDULER__SPREAD_SECONDS="0")
    [nightly] = settings.schedules
    assert (nightly.expression, nightly.retention.keep_last) == ("cron(0 3 * * ? *)", 7)
    slot = datetime(2026, 11, 24, 3, tzinfo=UTC)
    ddb = boto3_client(fresh_standin, "dynamodb")
    async with running(settings, clock=FakeClock(slot + timedelta(seconds=1)),
                       metrics=Metrics(CollectorRegistry())) as wired:
        await settle(lambda: metric(wired, "backupd_scheduled_backups_total",
                                    schedule="nightly", engine="dynamodb",
                                    outcome="completed"))
    names = sorted(f"{s['BackupName']}@{s['TableName']}"
                   for s in ddb.list_backups(BackupType="USER")["BackupSummaries"])
    assert names == ["backupd-nightly-202611240300@orders-eu"]


async def test_the_restore_rotator_example_restores_and_publishes_the_arn(
        monkeypatch: pytest.MonkeyPatch, aws_env: dict[str, str], make_table: Any,
        make_vault: Any, make_queue: Any, backup_fake: Any, fresh_standin: Any) -> None:
    table = make_table("orders-production", items=[{"pk": "o1"}, {"pk": "o2"}])
    vault, queue = make_vault("ops"), make_queue()
    backup_fake.set_event_target(queue)
    settings = example("restore-rotator", monkeypatch, aws_env, BACKUPD_QUEUE_URL=queue,
                       BACKUPD_ALERT_TOPIC_ARN="", BACKUPD_CLOUDWATCH__ENABLED="false",
                       **FAST_TASKS)
    ssm = boto3_client(fresh_standin, "ssm")
    async with running(settings) as wired:
        backup_fake.inject_job(table.arn, vault.name, duration=0.2)
        await settle(lambda: metric(wired, "backupd_tasks_total", kind="restore",
                                    outcome="succeeded"))
    [point] = backup_fake.recovery_points()
    target = f"orders-staging-{point.creation_date:%Y%m%d-%H-%M-%S}"
    value = ssm.get_parameter(Name="/staging/orders-table-arn")["Parameter"]["Value"]
    assert value.endswith(f":table/{target}")
    ddb = boto3_client(fresh_standin, "dynamodb")
    assert ddb.describe_table(TableName=target)["Table"]["TableStatus"] == "ACTIVE"


async def test_the_export_actions_example_exports_a_completed_backup_to_s3(
        monkeypatch: pytest.MonkeyPatch, aws_env: dict[str, str], make_table: Any,
        make_vault: Any, make_queue: Any, backup_fake: Any, fresh_standin: Any) -> None:
    table = make_table("orders", items=[{"pk": "o1"}], pitr=True)
    vault, queue = make_vault("ops"), make_queue()
    backup_fake.set_event_target(queue)
    s3 = boto3_client(fresh_standin, "s3")
    s3.create_bucket(Bucket="lake")
    settings = example("export-actions", monkeypatch, aws_env, BACKUPD_QUEUE_URL=queue,
                       BACKUPD_ALERT_TOPIC_ARN="", BACKUPD_CLOUDWATCH__ENABLED="false",
                       BACKUPD_EXPORTS=_with_bucket(EXAMPLES / "export-actions.yaml", "lake"),
                       **FAST_TASKS)
    async with running(settings) as wired:
        backup_fake.inject_job(table.arn, vault.name, duration=0.2)
        await settle(lambda: metric(wired, "backupd_tasks_total", kind="export",
                                    outcome="succeeded"))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake").get("Contents", [])]
    exported = [k for k in keys if k.startswith("dynamodb/") and "/_backupd/" not in k]
    done = [k for k in keys if k.startswith("dynamodb/_backupd/orders-lake/done/")]
    assert exported, keys
    assert len(done) == 1, "\n".join(
        s3.get_object(Bucket="lake", Key=k)["Body"].read().decode() for k in done)


def _with_bucket(path: Path, bucket: str) -> str:
    """The example's export rules as BACKUPD_EXPORTS, with the fixture's bucket name."""
    rules = yaml.safe_load(path.read_text(encoding="utf-8"))["exports"]
    return json.dumps([{**rule, "bucket": bucket} for rule in rules])


async def test_the_backup_plan_example_creates_the_plan_vault_and_selection(
        monkeypatch: pytest.MonkeyPatch, aws_env: dict[str, str], fresh_standin: Any) -> None:
    settings = example("backup-plan", monkeypatch, aws_env, BACKUPD_QUEUE_URL="",
                       BACKUPD_ALERT_TOPIC_ARN="", BACKUPD_CLOUDWATCH__ENABLED="false")
    backup = boto3_client(fresh_standin, "backup")
    async with running(settings) as wired:
        await settle(lambda: metric(wired, "backupd_backup_plan_reconciles_total",
                                    outcome="ok"))
    [listed] = [p for p in backup.list_backup_plans()["BackupPlansList"]
                if p["BackupPlanName"] == "dynamodb-daily"]
    plan = backup.get_backup_plan(BackupPlanId=listed["BackupPlanId"])["BackupPlan"]
    [rule] = plan["Rules"]
    assert (rule["TargetBackupVaultName"], rule["ScheduleExpression"]) == (
        "ddb-backupd-plans", "cron(0 5 ? * * *)")
    selections = backup.list_backup_selections(
        BackupPlanId=listed["BackupPlanId"])["BackupSelectionsList"]
    assert [s["SelectionName"] for s in selections] == ["backupd-tagged-daily"]
    backup.describe_backup_vault(BackupVaultName="ddb-backupd-plans")


@pytest.fixture(autouse=True)
def _pitr_moves_with_time() -> None:
    """moto never moves PITR's latest restorable time; AWS keeps it near now."""
    from daemon.standin.pitr_clock import install  # noqa: PLC0415 - the stand-in, tests only

    install()
