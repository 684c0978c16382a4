"""Least privilege from the configuration, enforced: the example estate (config/examples) and
the demo run on the stand-in with credentials holding only the policy `ddb-backupd iam-policy`
generates from their configuration (moto's IAM enforcement on), and every feature they turn
on does its work without one call refused.

The policy comes from the configuration as shipped; the run changes only where AWS is (the
stand-in's endpoint, region, queue URL and topic) and how fast time goes, never a feature,
and the policy of what runs is checked to grant the same actions. moto enforces actions, not
resources: tests/deploy/test_generated_policy.py checks those statically. The trust
scenario's run under its generated policy is in test_least_privilege.py.

Taking any one statement out of the generated policy fails one of these runs, but for those
moto cannot tell apart or these runs do not reach: `iam:PassRole` (not checked by the
stand-in), the lease table's item calls (restores are granted the same actions), the export's
own S3 writes (moto writes them without asking), ListExports (a resumed export) and the
rotation's DeleteTable (one copy per rule here; the trust scenario rotates).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import structlog
from moto.core.authorization import enable_iam_authentication
from moto.dynamodb.models import DynamoDBBackend
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from daemon.app import Daemon, run_daemon
from daemon.config.iam_policy import policy_for
from daemon.config.settings import Settings
from daemon.core.clock import Clock, FakeClock
from daemon.kernel.kernel import Kernel
from daemon.obs.metrics import Metrics
from tests.deploy import iam
from tests.deploy.configs import example_yaml

from .privilege import make_users

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
GIB = 2**30
# A Sunday 03:00 UTC in the past: the hourly schedule's slot, the weekly export's, and 30
# minutes into the nightly 02:30 (Dublin, GMT in November) schedule's 2-hour start window.
SUNDAY = datetime(2026, 11, 29, 3, 0, 1, tzinfo=UTC)
FAST = {"reconcile_seconds": 5, "shutdown_grace_seconds": 5,
        "queue": {"wait_seconds": 1, "visibility_timeout_seconds": 10},
        "http": {"host": "127.0.0.1", "port": 0}, "cloudwatch": {"interval_seconds": 1},
        "scheduler": {"tick_seconds": 0.5, "discovery_interval_seconds": 1,
                      "retention_interval_seconds": 1, "api_calls_per_second": 200,
                      "spread_seconds": 0},
        "tasks": {"poll_initial_seconds": 0.1, "poll_max_seconds": 0.5, "rescan_seconds": 5}}


@dataclass
class Estate:
    """A configuration on the stand-in: what it is, what runs, how to read the truth."""

    configured: Settings  # as shipped: the policy comes from this
    running: dict[str, Any]  # the same on the stand-in, faster (the daemon's keys added)
    endpoint: str
    region: str
    clock: Clock | None = None
    creds: tuple[str, str] = ("testing", "testing")  # an admin's, once IAM is enforced

    def client(self, service: str) -> Any:
        key, secret = self.creds
        return boto3.client(service, region_name=self.region, endpoint_url=self.endpoint,
                            aws_access_key_id=key, aws_secret_access_key=secret)

    def settings(self, creds: tuple[str, str] | None = None) -> Settings:
        keys = {"access_key_id": creds[0], "secret_access_key": creds[1]} if creds else {}
        return Settings(**{**self.running, "aws": {"endpoint_url": self.endpoint,
                                                   "max_attempts": 2, **keys}})

    def copies_done(self, prefix: str) -> list[str]:
        """ARNs of restored copies (`prefix`...) tagged done."""
        ddb, done = self.client("dynamodb"), []
        for name in ddb.list_tables()["TableNames"]:
            if name.startswith(prefix):
                arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
                tags = {t["Key"]: t["Value"]
                        for t in ddb.list_tags_of_resource(ResourceArn=arn)["Tags"]}
                if tags.get("backupd:state") == "done":
                    done.append(arn)
        return done

    def ssm(self, name: str) -> str | None:
        ssm = self.client("ssm")
        try:
            return str(ssm.get_parameter(Name=name)["Parameter"]["Value"])
        except ssm.exceptions.ParameterNotFound:
            return None

    def backup_names(self, table: str) -> set[str]:
        return {b["BackupName"] for b in self.client("dynamodb").list_backups(
            TableName=table)["BackupSummaries"]}

    def queue_depth(self, url: str) -> int:
        attrs = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])
        return sum(int(v) for v in attrs["Attributes"].values())

    def dead_letters(self, url: str) -> int:
        """Messages in `url`'s dead-letter queue: ones the daemon failed to handle."""
        sqs = self.client("sqs")
        policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])
        target = json.loads(policy["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"]
        dlq = sqs.get_queue_url(QueueName=target.rsplit(":", 1)[1])["QueueUrl"]
        return self.queue_depth(dlq)


def adapted(settings: Settings, **where: Any) -> dict[str, Any]:
    """`settings` with the stand-in's addresses and fast timing; every feature as it was."""
    data: dict[str, Any] = settings.model_dump(mode="json", by_alias=True, exclude={"aws"})
    for key, value in {**FAST, **where}.items():
        data[key] = {**data[key], **value} if isinstance(value, dict) else value
    return data


def counter(ctx: Kernel, name: str, **labels: str) -> float:
    return sum(s.value for family in ctx.metrics.registry.collect() for s in family.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


# -- the example estate (config/examples/ddb-backupd.yaml) --------------------------------
@pytest.fixture
def example(fresh_standin: Any, aws_env: dict[str, str], make_table: Any, make_queue: Any,
            make_topic: Any, make_vault: Any, monkeypatch: pytest.MonkeyPatch) -> Estate:
    """Its tables (two orders tables with PITR, one excluded from the hourly schedule, one
    tagged for the nightly vault), queue, topic, lease table, vault and bucket."""
    from daemon.standin.pitr_clock import install  # noqa: PLC0415 - stand-in only

    install()
    _pitr_since_long_ago(monkeypatch)  # the weekly export's slot lies before the tables
    for name in ("orders-eu-production", "orders-eu-scratch"):
        make_table(name, items=[{"pk": f"{name}-{i}"} for i in range(6)], pitr=True,
                   size_bytes=GIB)
    make_table("customers", items=[{"pk": "c-1"}], tags={"backup": "nightly"}, size_bytes=GIB)
    make_table("ddb-backupd-leader", hash_key="lease")
    make_vault("ddb-backupd-vault")
    queue = make_queue("ddb-backupd-events", dlq=True)
    topic = make_topic("ddb-backupd-alerts")
    estate = Estate(example_yaml(), {}, fresh_standin.endpoint_url, fresh_standin.region,
                    clock=FakeClock(SUNDAY))
    estate.client("s3").create_bucket(Bucket="ddb-backupd-exports")
    estate.running = adapted(estate.configured, region=fresh_standin.region, queue_url=queue,
                             alert_topic_arn=topic)
    fresh_standin.backup.set_event_target(queue)
    return estate


def _pitr_since_long_ago(monkeypatch: pytest.MonkeyPatch) -> None:
    original = DynamoDBBackend.describe_continuous_backups

    def describe(self: DynamoDBBackend, table_name: str) -> dict[str, Any]:
        result: dict[str, Any] = original(self, table_name)
        desc = result.get("PointInTimeRecoveryDescription", {})
        if desc.get("PointInTimeRecoveryStatus") == "ENABLED":
            desc["EarliestRestorableDateTime"] = 0.0
        return result

    monkeypatch.setattr(DynamoDBBackend, "describe_continuous_backups", describe)


def example_checks(estate: Estate, fake: Any, ctx: Kernel) -> dict[str, bool]:
    running = estate.running
    customers = f"arn:aws:dynamodb:{estate.region}:{fake.account}:table/customers"
    copies = estate.copies_done("orders-eu-staging-")
    exported = estate.client("s3").list_objects_v2(
        Bucket="ddb-backupd-exports", Prefix="dynamodb/orders-eu-").get("Contents", [])
    return {
        "hourly": "backupd-orders-hourly-202611290300" in estate.backup_names(
            "orders-eu-production") and not estate.backup_names("orders-eu-scratch"),
        "nightly": any(j.resource_arn == customers and j.iam_role_arn ==
                       running["schedules"][1]["iam_role_arn"] for j in fake.jobs()),
        "restore": bool(copies) and estate.ssm("/staging/orders-table-arn") in copies,
        "export": bool(exported),
        **common_checks(estate, ctx, running["queue_url"]),
        "leader": ctx.is_leader(),
    }


def common_checks(estate: Estate, ctx: Kernel, queue_url: str) -> dict[str, bool]:
    return {"events": estate.queue_depth(queue_url) == 0 and estate.dead_letters(queue_url) == 0,
            "reconcile": counter(ctx, "backupd_reconciles_total", outcome="ok") > 0,
            "alerts": counter(ctx, "backupd_alerts_published_total") > 0,
            "gauges": counter(ctx, "backupd_cloudwatch_batches_total", outcome="ok") > 0}


async def test_the_example_estate_runs_on_its_generated_policy(example: Estate,
                                                               backup_fake: Any) -> None:
    table = f"arn:aws:dynamodb:{example.region}:{backup_fake.account}:table/customers"

    def start() -> None:  # a job that fails: an alert
        backup_fake.inject_job(table, "ddb-backupd-vault", final_state="FAILED", duration=0.5)

    await enforced(example, backup_fake, start, example_checks)


# -- the demo (ddb-backupd demo) -----------------------------------------------------------
@pytest.fixture
def demo(fresh_standin: Any, aws_env: dict[str, str]) -> tuple[Estate, Any]:
    """The demo's own resources (tables, queue, topic and inbox, vault, older backups)."""
    from daemon.cli.demo_scenario import Scenario, demo_settings  # noqa: PLC0415

    scenario = Scenario(fresh_standin)
    scenario.setup()
    configured = demo_settings(scenario, port=0)
    estate = Estate(configured, adapted(configured), fresh_standin.endpoint_url,
                    fresh_standin.region)
    return estate, scenario


def demo_checks(estate: Estate, fake: Any, ctx: Kernel) -> dict[str, bool]:
    from daemon.cli.demo_scenario import SSM_PARAMETER  # noqa: PLC0415

    del fake
    copies = estate.copies_done("orders-staging-")
    slot = datetime.now(UTC).strftime("%Y%m%d%H")
    return {
        "backups": any(n.startswith(f"backupd-demo-{slot}") for n in estate.backup_names(
            "orders-production")),
        "retention": counter(ctx, "backupd_retention_deletions_total", outcome="deleted") > 0,
        "restore": bool(copies) and estate.ssm(SSM_PARAMETER) in copies,
        **common_checks(estate, ctx, str(estate.running["queue_url"])),
    }


async def test_the_demo_runs_on_its_generated_policy(demo: tuple[Estate, Any],
                                                     backup_fake: Any) -> None:
    estate, scenario = demo

    def start() -> None:  # the demo's wave, in short: one job completes, one fails
        backup_fake.inject_job(scenario.table_arn("orders-production"), scenario.vault,
                               final_state="COMPLETED", size_bytes=GIB, duration=0.5)
        backup_fake.inject_job(scenario.table_arn("inventory"), scenario.vault,
                               final_state="FAILED", duration=0.5)

    await enforced(estate, backup_fake, start, demo_checks)


# -- the run --------------------------------------------------------------------------------
Checks = Callable[[Estate, Any, Kernel], dict[str, bool]]


async def enforced(estate: Estate, fake: Any, start: Callable[[], None], checks: Checks,
                   seconds: float = 120.0) -> None:
    """Run the daemon under the generated policy until every check holds (or time is up);
    assert they all hold and no call was refused."""
    policy = policy_for(estate.configured)
    assert _actions(policy) == _actions(policy_for(estate.settings())), \
        "the run on the stand-in turns on other features than the configuration"
    creds, estate.creds = make_users(estate.client("iam"), policy=policy)
    with enable_iam_authentication():
        results, logs = await _run(estate, fake, creds, start, checks, seconds)
    denied = sorted(set(re.findall(r"not authorized to perform: ([\w:]+)", logs)))
    assert denied == []
    assert "(AccessDenied" not in logs
    assert results == dict.fromkeys(results, True), _troubles(logs)


def _troubles(logs: str, last: int = 40) -> str:
    """The run's warnings and errors (the last `last` of them): why a check did not hold."""
    lines = [line for line in logs.splitlines()
             if json.loads(line).get("log_level") in {"warning", "error", "critical"}]
    return "\n".join(lines[-last:])


def _actions(policy: dict[str, Any]) -> dict[str, list[str]]:
    return {s["Sid"]: s["Action"] for s in iam.statements(policy)}


async def _run(estate: Estate, fake: Any, creds: tuple[str, str], start: Callable[[], None],
               checks: Checks, seconds: float) -> tuple[dict[str, bool], str]:
    stop = asyncio.Event()
    ready: asyncio.Future[Kernel] = asyncio.get_running_loop().create_future()

    async def on_ready(wired: Daemon) -> None:
        ready.set_result(wired.kernel)

    with capture_logs(processors=[structlog.processors.format_exc_info]) as logs:
        daemon = asyncio.create_task(run_daemon(
            estate.settings(creds), metrics=Metrics(CollectorRegistry()), clock=estate.clock,
            stop=stop, on_ready=on_ready))
        try:
            ctx = await ready
            start()
            try:
                async with asyncio.timeout(seconds):
                    while not all(checks(estate, fake, ctx).values()):
                        await asyncio.sleep(0.5)
            except TimeoutError:
                pass  # what did not hold is in the results
            results = checks(estate, fake, ctx)
        finally:
            stop.set()
            await daemon
    return results, "\n".join(json.dumps(e, default=str) for e in logs)
