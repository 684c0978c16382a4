"""Reconciler, CloudWatch publisher and SNS alerts over HTTP against the stand-in."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from structlog.testing import capture_logs

from daemon.core.alerts import Alert
from daemon.core.clock import FakeClock
from daemon.events.cloudwatch import chunks, datums
from daemon.events.pipeline import ThresholdWatch
from daemon.kernel.datums import Datum, datum
from tests.pipeline.helpers import backup_event, context, settings

pytestmark = pytest.mark.e2e
GIB = 2**30


def client(env: dict[str, str], service: str) -> Any:
    return boto3.client(service, region_name="us-east-1", endpoint_url=env["AWS_ENDPOINT_URL"])


async def wait_for(predicate: Callable[[], bool], seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


async def test_reconcile_rebuilds_the_tracker_from_aws_after_a_restart(
        aws_env: dict[str, str], backup_fake: Any, make_table: Callable[..., Any],
        make_vault: Callable[..., Any]) -> None:
    vault = make_vault()
    tables = [make_table(size_bytes=(i + 1) * GIB) for i in range(3)]
    jobs = [backup_fake.inject_job(t.arn, vault.name, state="RUNNING", duration=float("inf"))
            for t in tables]
    async with context(settings()) as (env, pipeline):
        reconciler = env.reconciler(pipeline)
        assert env.tracker.running_jobs_total() == 0  # a restarted daemon knows nothing
        assert env.board.ready() is False
        repairs = await reconciler.run_once()
        assert repairs == 3
        assert env.tracker.running_jobs_total() == 3
        assert env.tracker.running_bytes_total() == 6 * GIB
        assert env.tracker.totals()[(vault.name, "DynamoDB", "us-east-1", "123456789012")] == (
            3, 6 * GIB)
        assert await reconciler.run_once() == 0, "a second pass over the same truth is a no-op"
        # A COMPLETED event that never arrived: the listing no longer has the job.
        backup_fake.finish(jobs[0].job_id, "COMPLETED")
        backup_fake.finish(jobs[1].job_id, "FAILED", status_message="Access denied")
        assert await reconciler.run_once() == 2
        assert env.tracker.running_jobs_total() == 1
        assert env.tracker.running_bytes_total() == 3 * GIB
        value = env.metrics.registry.get_sample_value
        assert value("backupd_backup_jobs_finished_total",
                     {"state": "FAILED", "resource_type": "DynamoDB"}) == 1
        assert env.alerts.pending() == 1, "the failed job raises an alert"
        assert value("backupd_last_reconcile_timestamp_seconds") > 0


async def test_a_job_that_starts_and_fails_between_two_passes_is_seen_and_alerted_once(
        aws_env: dict[str, str], backup_fake: Any, make_table: Callable[..., Any],
        make_vault: Callable[..., Any]) -> None:
    """With events missing (queue denied, rule deleted), a job that starts and ends between
    two passes is never listed open: the jobs that ended since the previous pass are."""
    vault, table = make_vault(), make_table(size_bytes=GIB)
    before = backup_fake.inject_job(table.arn, vault.name, state="FAILED")
    async with context(settings()) as (env, pipeline):
        reconciler = env.reconciler(pipeline)
        assert await reconciler.run_once() == 0, "history before the first pass is not news"
        assert env.tracker.finished_state(before.job_id) is None
        between = backup_fake.inject_job(table.arn, vault.name, state="FAILED")
        done = backup_fake.inject_job(table.arn, vault.name, state="COMPLETED")
        assert await reconciler.run_once() == 2
        assert env.tracker.finished_state(between.job_id) == "FAILED"
        assert env.tracker.finished_state(done.job_id) == "COMPLETED"
        assert env.alerts.pending() == 1, "the failed job raises an alert"
        assert await reconciler.run_once() == 0, "listed again by the overlap: no news"
        assert env.alerts.pending() == 1
        value = env.metrics.registry.get_sample_value
        assert value("backupd_backup_jobs_finished_total",
                     {"state": "FAILED", "resource_type": "DynamoDB"}) == 1


async def test_cloudwatch_gets_one_batch_with_dimensions_and_an_account_total(
        aws_env: dict[str, str]) -> None:
    async with context(settings()) as (env, pipeline):
        for i, vault in enumerate(["ops", "ops", "archive"]):
            await pipeline.handle(backup_event(f"j{i}", "RUNNING", size=(i + 1) * 10, vault=vault))
        publisher = env.cloudwatch()
        assert await publisher.run_once() is True
        assert publisher.calls == 1
    cw = client(aws_env, "cloudwatch")
    listed = cw.list_metrics(Namespace="BackupMonitoring")["Metrics"]
    names = {(m["MetricName"], tuple(sorted(d["Name"] for d in m["Dimensions"]))) for m in listed}
    assert ("ConcurrentBackupBytes", ()) in names
    assert ("RunningBackupJobs", ("AccountId", "BackupType", "Region", "VaultName")) in names
    assert ("ConcurrentBackupBytes", ("AccountId",)) in names
    stats = cw.get_metric_data(MetricDataQueries=[{
        "Id": "total", "MetricStat": {"Metric": {"Namespace": "BackupMonitoring",
                                                 "MetricName": "ConcurrentBackupBytes"},
                                      "Period": 60, "Stat": "Maximum"}}],
        StartTime=datetime.now(UTC) - timedelta(minutes=5),
        EndTime=datetime.now(UTC) + timedelta(minutes=5))
    assert stats["MetricDataResults"][0]["Values"] == [60.0]


def rds_event(job_id: str, state: str, size: int) -> str:
    """A backup job event of an RDS instance in vault ops."""
    body = json.loads(backup_event(job_id, state, size=size))
    body["detail"].update(resourceType="RDS",
                          resourceArn="arn:aws:rds:us-east-1:123456789012:db:orders")
    return json.dumps(body)


async def test_a_filtered_sample_compatible_batch_counts_only_dynamodb_running_jobs(
        aws_env: dict[str, str]) -> None:
    """monitor.resource_types=[DynamoDB], monitor.states=[RUNNING], sample_compatible: the one
    PutMetricData carries BackupJobSize with the sample's dimensions, and every total counts
    the DynamoDB RUNNING jobs only (the Prometheus gauges still count every open job)."""
    namespace = "ConcurrentBackupMonitorE2E"
    s = settings(cloudwatch={"namespace": namespace, "sample_compatible": True},
                 monitor={"resource_types": ["DynamoDB"], "states": ["RUNNING"]})
    async with context(s) as (env, pipeline):
        await pipeline.handle(backup_event("ddb-run", "RUNNING", size=10 * GIB))
        await pipeline.handle(backup_event("ddb-wait", "PENDING", size=5 * GIB, table="users"))
        await pipeline.handle(rds_event("rds-run", "RUNNING", 7 * GIB))
        assert env.tracker.running_bytes_total() == 22 * GIB
        publisher = env.cloudwatch()
        assert await publisher.run_once() is True
        assert publisher.calls == 1
        assert env.metrics.registry.get_sample_value("backupd_aws_api_calls_total", {
            "service": "cloudwatch", "operation": "PutMetricData", "outcome": "ok"}) == 1
    cw = client(aws_env, "cloudwatch")
    listed = cw.list_metrics(Namespace=namespace)["Metrics"]
    got = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"])))
           for m in listed}
    group = (("BackupType", "DynamoDB"), ("Region", "us-east-1"), ("VaultName", "ops"))
    account = (("AccountId", "123456789012"),)
    in_account = (account[0], *group)
    assert got == {("BackupJobSize", group), ("ConcurrentBackupBytes", in_account),
                   ("RunningBackupJobs", in_account), ("ConcurrentBackupBytes", account),
                   ("RunningBackupJobs", account), ("ConcurrentBackupBytes", ()),
                   ("RunningBackupJobs", ())}, "nothing of RDS, one group of DynamoDB"

    def value(name: str, dims: tuple[tuple[str, str], ...]) -> list[float]:
        stats = cw.get_metric_data(MetricDataQueries=[{"Id": "q", "MetricStat": {
            "Metric": {"Namespace": namespace, "MetricName": name,
                       "Dimensions": [{"Name": k, "Value": v} for k, v in dims]},
            "Period": 60, "Stat": "Maximum"}}],
            StartTime=datetime.now(UTC) - timedelta(minutes=5),
            EndTime=datetime.now(UTC) + timedelta(minutes=5))
        return list(stats["MetricDataResults"][0]["Values"])

    assert value("BackupJobSize", group) == [10.0 * GIB]
    assert value("RunningBackupJobs", in_account) == [1.0]
    assert value("ConcurrentBackupBytes", account) == [10.0 * GIB]
    assert value("ConcurrentBackupBytes", ()) == [10.0 * GIB]
    assert value("RunningBackupJobs", ()) == [1.0]


async def test_without_sample_compatible_there_is_no_backup_job_size(
        aws_env: dict[str, str]) -> None:
    async with context(settings()) as (env, pipeline):
        await pipeline.handle(backup_event("a", "RUNNING", size=7))
        assert {d["MetricName"] for d in datums(env.tracker, env.clock.now())} == {
            "ConcurrentBackupBytes", "RunningBackupJobs"}
async def test_other_capabilities_datums_ride_in_the_same_single_call(
        aws_env: dict[str, str]) -> None:
    """Scheduling's freshness datums come through the kernel's DatumSources; a provider that
    fails loses only its own datums, never the batch."""
    async with context(settings()) as (env, _):
        sources = env.kernel.datums
        sources.add(lambda now: [datum("LateTables", 3, "Count", now,
                                       [{"Name": "Schedule", "Value": "nightly"}])])

        def broken(now: datetime) -> list[Datum]:
            raise RuntimeError("no report")

        sources.add(broken)
        publisher = env.cloudwatch()
        with capture_logs() as logs:
            assert await publisher.run_once() is True
        assert publisher.calls == 1
    assert [e["event"] for e in logs] == ["cloudwatch.provider_failed"]
    listed = client(aws_env, "cloudwatch").list_metrics(Namespace="BackupMonitoring")["Metrics"]
    names = {(m["MetricName"], tuple(d["Value"] for d in m["Dimensions"])) for m in listed}
    assert {("LateTables", ("nightly",)), ("RunningBackupJobs", ())} <= names


def test_datums_are_split_into_calls_of_at_most_1000() -> None:
    items = [{"MetricName": "x", "Value": float(i)} for i in range(2501)]
    sizes = [len(part) for part in chunks(items)]
    assert sizes == [1000, 1000, 501]


async def test_datums_follow_the_tracker_totals(aws_env: dict[str, str]) -> None:
    async with context(settings()) as (env, pipeline):
        await pipeline.handle(backup_event("a", "RUNNING", size=7))
        got = datums(env.tracker, env.clock.now())
    by_dims = {(d["MetricName"], len(d["Dimensions"])): d["Value"] for d in got}
    assert by_dims == {("ConcurrentBackupBytes", 4): 7.0, ("RunningBackupJobs", 4): 1.0,
                       ("ConcurrentBackupBytes", 1): 7.0, ("RunningBackupJobs", 1): 1.0,
                       ("ConcurrentBackupBytes", 0): 7.0, ("RunningBackupJobs", 0): 1.0}


async def test_failed_job_publishes_one_sns_alert_with_attributes(
        aws_env: dict[str, str], make_queue: Callable[..., str],
        make_topic: Callable[..., str]) -> None:
    inbox = make_queue()
    topic = make_topic(subscribe=inbox)
    async with context(settings(alert_topic_arn=topic)) as (env, pipeline):
        await pipeline.handle(backup_event("bad", "RUNNING", size=5))
        await pipeline.handle(backup_event("bad", "FAILED"))
        await pipeline.handle(backup_event("bad", "FAILED"))  # a duplicate: no second alert
        assert env.alerts.pending() == 1
        assert await env.alerts.run_once() is True
        assert env.metrics.registry.get_sample_value(
            "backupd_alerts_published_total", {"severity": "critical"}) == 1
    got = client(aws_env, "sqs").receive_message(QueueUrl=inbox, WaitTimeSeconds=1)["Messages"]
    envelope = json.loads(got[0]["Body"])
    assert envelope["MessageAttributes"]["severity"]["Value"] == "critical"
    assert envelope["MessageAttributes"]["event"]["Value"] == "job.failed"
    body = json.loads(envelope["Message"])
    assert body["state"] == "FAILED"
    assert "orders" in envelope["Subject"]


async def test_an_sns_outage_never_blocks_and_the_alert_waits(
        aws_env: dict[str, str], make_topic: Callable[..., str]) -> None:
    """SNS out of reach (connection refused): a transient failure, the alert stays queued."""
    topic = make_topic()
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        unreachable = f"http://127.0.0.1:{closed.getsockname()[1]}"
        s = settings(alert_topic_arn=topic, aws={"endpoint_url": unreachable, "max_attempts": 1})
        async with context(s) as (ctx, _):
            ctx.alerts.submit(Alert("warning", "threshold.warning", "test", {}))
            assert await ctx.alerts.run_once() is False
            assert ctx.alerts.pending() == 1
            assert ctx.metrics.registry.get_sample_value(
                "backupd_alerts_failed_total", {"severity": "warning"}) == 1
            assert ctx.metrics.registry.get_sample_value(
                "backupd_alerts_dropped_total", {"reason": "refused"}) == 0


async def test_an_alert_sns_refuses_for_good_does_not_block_the_next_ones(
        aws_env: dict[str, str], make_queue: Callable[..., str],
        make_topic: Callable[..., str]) -> None:
    """SNS refuses one alert (a message over 256 KiB: InvalidParameter); it is dropped,
    counted and logged with AWS's code, and the alerts behind it are published."""
    inbox = make_queue()
    topic = make_topic(subscribe=inbox)
    async with context(settings(alert_topic_arn=topic)) as (ctx, _):
        ctx.alerts.submit(Alert("critical", "job.failed", "first", {}))
        ctx.alerts.submit(Alert("critical", "job.failed", "too big", {"detail": "x" * 300_000}))
        for n in range(2, 5):
            ctx.alerts.submit(Alert("warning", "backup_missed", f"after {n}", {}))
        stop = asyncio.Event()
        with capture_logs() as logs:
            outbox = asyncio.create_task(ctx.alerts.run(stop))
            await wait_for(lambda: ctx.alerts.pending() == 0)
            stop.set()
            await outbox
        value = ctx.metrics.registry.get_sample_value
        assert value("backupd_alerts_dropped_total", {"reason": "refused"}) == 1
        assert value("backupd_alerts_dropped_total", {"reason": "overflow"}) == 0
        assert value("backupd_alerts_published_total", {"severity": "critical"}) == 1
        assert value("backupd_alerts_published_total", {"severity": "warning"}) == 3
        assert value("backupd_alerts_failed_total", {"severity": "critical"}) == 0
    dropped = [e for e in logs if e["event"] == "alert.dropped"]
    assert [(e["reason"], e["code"], e["subject"]) for e in dropped] == [
        ("refused", "InvalidParameter", "too big")]
    sqs = client(aws_env, "sqs")
    subjects: set[str] = set()
    for _ in range(10):
        got = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        subjects |= {json.loads(m["Body"])["Subject"] for m in got.get("Messages", [])}
        if len(subjects) == 4:
            break
    assert subjects == {"first", "after 2", "after 3", "after 4"}


async def test_a_deleted_topic_refuses_every_alert_for_good(aws_env: dict[str, str]) -> None:
    """No such topic (NotFound) is no outage: each alert is dropped and counted, none waits."""
    gone = "arn:aws:sns:us-east-1:123456789012:deleted-topic"
    async with context(settings(alert_topic_arn=gone)) as (env, _):
        env.alerts.submit(Alert("warning", "threshold.warning", "one", {}))
        env.alerts.submit(Alert("critical", "job.failed", "two", {}))
        assert await env.alerts.run_once() is True
        assert await env.alerts.run_once() is True
        assert env.alerts.pending() == 0
        assert env.metrics.registry.get_sample_value(
            "backupd_alerts_dropped_total", {"reason": "refused"}) == 2
        assert env.metrics.registry.get_sample_value(
            "backupd_alerts_failed_total", {"severity": "warning"}) == 0


async def test_a_new_leader_reconciles_once_then_every_interval(aws_env: dict[str, str]) -> None:
    """The reconcile a new leader runs before its components (the gate's on_acquire) is the
    reconciler's first pass: its loop waits an interval before the next one."""
    async with context(settings(reconcile_seconds=5)) as (env, pipeline):
        reconciler = env.reconciler(pipeline)
        await reconciler.run_once()

        def listings() -> float:
            return env.metrics.registry.get_sample_value("backupd_aws_api_calls_total", {
                "service": "backup", "operation": "ListBackupJobs", "outcome": "ok"}) or 0.0

        after_one = listings()
        assert after_one == 4  # CREATED, PENDING, RUNNING, ABORTING, listed side by side
        stop = asyncio.Event()
        loop = asyncio.create_task(reconciler.run(stop))
        await asyncio.sleep(0.5)
        stop.set()
        await loop
        assert listings() == after_one


async def test_a_level_clears_after_its_cooldown_even_without_new_events(
        aws_env: dict[str, str]) -> None:
    clock = FakeClock(datetime(2026, 11, 24, 5, 0, tzinfo=UTC))
    s = settings(limit_bytes=100, alert_cooldown_seconds=60)
    async with context(s, clock) as (env, pipeline):
        watch = ThresholdWatch(pipeline, interval_seconds=0.01)
        await pipeline.handle(backup_event("big", "RUNNING", size=85))
        assert pipeline.thresholds.level == 1
        clock.advance(10)
        await pipeline.handle(backup_event("big", "COMPLETED", size=85))
        assert pipeline.thresholds.level == 1, "held: the cooldown has not passed"
        clock.advance(60)
        stop = asyncio.Event()
        task = asyncio.create_task(watch.run(stop))
        await wait_for(lambda: pipeline.thresholds.level == 0)
        stop.set()
        await task
        assert [r.alert.event for r in env.alerts.recent] == ["threshold.warning", "threshold.cleared"]


async def test_concurrent_size_lookups_of_one_table_share_one_describe_table(
        aws_env: dict[str, str], make_table: Callable[..., Any]) -> None:
    table = make_table(size_bytes=3 * GIB)
    async with context(settings()) as (env, _):
        sizes = env.sizes()
        got = await asyncio.gather(*(sizes.size_of(table.arn) for _ in range(5)))
        assert got == [3 * GIB] * 5
        assert env.metrics.registry.get_sample_value("backupd_aws_api_calls_total", {
            "service": "dynamodb", "operation": "DescribeTable", "outcome": "ok"}) == 1


async def test_a_job_that_finished_before_its_size_lookup_ran_needs_no_describe_table(
        aws_env: dict[str, str], make_table: Callable[..., Any]) -> None:
    """RUNNING without a size, then COMPLETED in the same batch (a backlog drained after a
    restart): the lookup finds nothing left to size and makes no call. A job still running
    is looked up as before."""
    done, running = make_table("done", size_bytes=GIB), make_table("busy", size_bytes=2 * GIB)
    async with context(settings()) as (env, pipeline):
        await asyncio.gather(*(pipeline.handle(body) for body in (
            backup_event("j-done", "RUNNING", table=done.name),
            backup_event("j-done", "COMPLETED", table=done.name, size=GIB),
            backup_event("j-busy", "RUNNING", table=running.name))))
        await pipeline.settle()
        assert env.metrics.registry.get_sample_value("backupd_aws_api_calls_total", {
            "service": "dynamodb", "operation": "DescribeTable", "outcome": "ok"}) == 1
        job = env.tracker.get("j-busy")
        assert job is not None
        assert job.size_bytes == 2 * GIB
        assert env.tracker.running_bytes_total() == 2 * GIB


async def test_a_network_error_is_counted_with_its_operation(aws_env: dict[str, str]) -> None:
    s = settings(aws={"endpoint_url": "http://127.0.0.1:9", "max_attempts": 1,
                      "connect_timeout_seconds": 0.5})
    async with context(s) as (env, _):
        sqs = await env.aws.sqs()
        with pytest.raises(Exception, match="Could not connect"):
            await sqs.get_queue_attributes(QueueUrl="http://127.0.0.1:9/1/q")
        assert env.metrics.registry.get_sample_value("backupd_aws_api_calls_total", {
            "service": "sqs", "operation": "GetQueueAttributes", "outcome": "network_error"}) == 1
