"""Paths no other end-to-end test takes: a vault notification (not an EventBridge event)
that ends in a restore, and a restore rule without an SSM parameter."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from daemon.app import Daemon, run_daemon
from tests.fixtures.standin import boto3_client
from tests.tasks.conftest import settings_with, wait_until
from tests.tasks.test_restore_jobs_e2e import ROLE
from tests.tasks.test_restores_e2e import ITEMS, SSM, completed, rule, tags_of

pytestmark = pytest.mark.e2e


async def test_a_vault_notification_on_sqs_becomes_a_restored_table(
        aws_env: dict[str, str], make_table: Any, make_vault: Any, make_queue: Any,
        make_topic: Any, backup_fake: Any, fresh_standin: Any) -> None:
    """AWS Backup's vault SNS notification (BACKUP_JOB_COMPLETED, plain text in an SNS
    envelope) is the only trigger: no EventBridge event reaches the queue."""
    table = make_table("orders-production", items=ITEMS)
    vault = make_vault("ops")
    queue = make_queue()
    topic = make_topic(subscribe=queue)
    boto3_client(fresh_standin, "backup").put_backup_vault_notifications(
        BackupVaultName=vault.name, SNSTopicArn=topic, BackupVaultEvents=["BACKUP_JOB_COMPLETED"])
    settings = settings_with(queue_url=queue, restores=[rule()],
                             aws={"endpoint_url": aws_env["AWS_ENDPOINT_URL"], "max_attempts": 2},
                             queue={"wait_seconds": 1}, reconcile_seconds=3600,
                             tasks={"restore_role_arn": ROLE})
    ready: asyncio.Future[Daemon] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def on_ready(wired: Daemon) -> None:
        ready.set_result(wired)

    daemon = asyncio.create_task(run_daemon(settings, stop=stop, on_ready=on_ready))
    try:
        kernel = (await ready).kernel
        backup_fake.inject_job(table.arn, vault.name, duration=0.2)
        assert await wait_until(lambda: kernel.metrics.registry.get_sample_value(
            "backupd_tasks_total", {"kind": "restore", "outcome": "succeeded"}), tries=400)
    finally:
        stop.set()
        assert await daemon == 0

    [point] = backup_fake.recovery_points()
    target = f"orders-staging-{point.creation_date:%Y%m%d-%H-%M-%S}"
    ssm = boto3_client(fresh_standin, "ssm")
    assert ssm.get_parameter(Name=SSM)["Parameter"]["Value"].endswith(f"table/{target}")
    assert tags_of(boto3_client(fresh_standin, "dynamodb"), target)["backupd:source-backup"] \
        == point.arn


async def test_a_rule_without_an_ssm_parameter_restores_tags_and_rotates_only(
        daemon: Any, make_table: Any, fresh_standin: Any) -> None:
    table = make_table("orders-production", items=ITEMS)
    ddb = boto3_client(fresh_standin, "dynamodb")
    backup = ddb.create_backup(TableName=table.name, BackupName="backup-1")["BackupDetails"]
    no_ssm = {k: v for k, v in rule().items() if k != "ssm_parameter"}
    instance = await daemon(settings_with(restores=[no_ssm]))
    instance.kernel.bus.publish(completed(backup["BackupArn"], table.arn))
    await instance.settle()

    assert instance.tasks_total("restore", "succeeded") == 1
    assert instance.calls("PutParameter") == 0
    assert instance.calls("GetParameter") == 0
    [target] = [n for n in ddb.list_tables()["TableNames"] if n.startswith("orders-staging-")]
    assert tags_of(ddb, target)["backupd:state"] == "done"
    assert boto3_client(fresh_standin, "ssm").describe_parameters()["Parameters"] == []
