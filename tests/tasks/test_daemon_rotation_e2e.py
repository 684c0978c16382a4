"""The whole daemon, as `ddb-backupd run` starts it: an AWS Backup job completes, its event
arrives on SQS, and the rotation restores it and moves the SSM parameter (the demo's story)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from daemon.app import Daemon, run_daemon
from tests.fixtures.standin import boto3_client
from tests.tasks.conftest import settings_with, wait_until
from tests.tasks.test_restore_jobs_e2e import ROLE
from tests.tasks.test_restores_e2e import ITEMS, SSM, rule, tags_of

pytestmark = pytest.mark.e2e


async def test_a_completed_backup_event_on_sqs_becomes_a_staging_table(
        aws_env: dict[str, str], make_table: Any, make_vault: Any, make_queue: Any,
        backup_fake: Any, fresh_standin: Any) -> None:
    table = make_table("orders-production", items=ITEMS)
    vault = make_vault("ops")
    queue = make_queue()
    backup_fake.set_event_target(queue)
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
        wired = await ready
        job = backup_fake.inject_job(table.arn, vault.name, duration=0.2)
        assert await wait_until(lambda: wired.kernel.metrics.registry.get_sample_value(
            "backupd_tasks_total", {"kind": "restore", "outcome": "succeeded"}), tries=400)
    finally:
        stop.set()
        assert await daemon == 0

    value = _parameter(boto3_client(fresh_standin, "ssm"))
    [point] = backup_fake.recovery_points()
    assert backup_fake.job(job.job_id).state == "COMPLETED"
    target = f"orders-staging-{point.creation_date:%Y%m%d-%H-%M-%S}"
    assert value is not None
    assert value.endswith(f"table/{target}")
    tags = tags_of(boto3_client(fresh_standin, "dynamodb"), target)
    assert (tags["backupd:state"], tags["backupd:source-backup"]) == ("done", point.arn)


def _parameter(ssm: Any) -> str | None:
    try:
        return str(ssm.get_parameter(Name=SSM)["Parameter"]["Value"])
    except ssm.exceptions.ParameterNotFound:
        return None
