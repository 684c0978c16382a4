"""AWS calls per backup job, tracked from start to finish through the events path.

The stand-in runs in this process (its AWS Backup fake must be steered: `inject_job`), the
daemon too (`run_daemon`). After the daemon is ready (first reconcile done, consumer
polling) the counter `backupd_aws_api_calls_total` is read; then a backup plan's window
opens: JOBS jobs start together on as many tables, each RUNNING for its own 1-5 s, and the
fake reports every state change to the event queue as EventBridge would (CREATED, RUNNING,
COMPLETED, and the recovery point). When every job is finished in the tracker and every
message is deleted, the counter is read again. Every call in between counts, whatever it
was for (receives, deletes, DescribeTable for sizes, empty long polls). CloudWatch
publishing is off here: its calls are per interval, not per job (its own figure).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import boto3

from benchmarks.common import Figure, Target, exit_with, figure
from benchmarks.inprocess import api_calls, quiet_logging, reconciled, settings, wait_until
from daemon.app import Daemon, run_daemon
from daemon.obs.metrics import Metrics
from daemon.standin import FakeConfig, StandIn

JOBS = 100
GIB = 2**30


def _client(standin: StandIn, service: str) -> Any:
    return boto3.client(service, region_name=standin.region, endpoint_url=standin.endpoint_url,
                        aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def setup(standin: StandIn, jobs: int) -> tuple[str, list[str]]:
    """An event queue the fake reports to, and `jobs` tables with sizes: (queue URL, ARNs)."""
    ddb, sqs = _client(standin, "dynamodb"), _client(standin, "sqs")
    arns = []
    for i in range(jobs):
        name = f"bench-table-{i:04d}"
        table = ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                 AttributeDefinitions=[{"AttributeName": "pk",
                                                        "AttributeType": "S"}])
        standin.backup.set_table_size(name, (i % 20 + 1) * GIB)
        arns.append(table["TableDescription"]["TableArn"])
    _client(standin, "backup").create_backup_vault(BackupVaultName="bench-vault")
    queue_url = str(sqs.create_queue(QueueName="bench-api-events")["QueueUrl"])
    standin.backup.set_event_target(queue_url)
    return queue_url, arns


def _settled(standin: StandIn, wired: Daemon, sqs: Any, queue_url: str, jobs: int) -> bool:
    finished = standin.backup.jobs()
    if len(finished) < jobs or any(j.state not in ("COMPLETED", "FAILED") for j in finished):
        return False
    if len(wired.kernel.tracker) or wired.kernel.tracker.running_jobs_total():
        return False
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return all(v == "0" for v in attrs.values())


async def measure(jobs: int = JOBS) -> tuple[dict[str, float], int, float]:
    """(calls by operation during the wave, events delivered, seconds the wave took)."""
    config = FakeConfig(start_delay_seconds=0.2, tick_seconds=0.05)
    with StandIn(config=config) as standin:
        queue_url, arns = setup(standin, jobs)
        metrics, stop = Metrics(), asyncio.Event()
        s = settings(standin.endpoint_url, queue_url=queue_url, cloudwatch={"enabled": False})
        result: list[tuple[dict[str, float], int, float]] = []
        helpers: list[asyncio.Task[None]] = []

        async def wave(wired: Daemon) -> None:
            try:
                await wait_until(lambda: reconciled(wired))
                await asyncio.sleep(0.5)  # let the first reconcile's calls land
                before = api_calls(metrics)
                rng = random.Random(8)
                start = time.monotonic()
                for arn in arns:
                    await asyncio.to_thread(standin.backup.inject_job, arn, "bench-vault",
                                            duration=rng.uniform(1, 5))
                sqs = _client(standin, "sqs")
                while not await asyncio.to_thread(  # noqa: ASYNC110 - polls AWS-side state
                        _settled, standin, wired, sqs, queue_url, jobs):
                    await asyncio.sleep(0.2)
                after = api_calls(metrics)
                result.append(({k: after[k] - before.get(k, 0.0) for k in after
                                if after[k] - before.get(k, 0.0)},
                               standin.backup.events_delivered, time.monotonic() - start))
            finally:
                stop.set()

        async def on_ready(wired: Daemon) -> None:
            helpers.append(asyncio.create_task(wave(wired)))

        await run_daemon(s, metrics=metrics, stop=stop, on_ready=on_ready)
        await asyncio.gather(*helpers)
        return result[0]


def run() -> list[Figure]:
    quiet_logging()
    calls, events, seconds = asyncio.run(measure())
    total = sum(calls.values())
    breakdown = ", ".join(f"{k} {v / JOBS:.2f}" for k, v in sorted(calls.items()))
    return [figure("api_calls_per_job", total / JOBS, "calls/job", Target("<=", 2),
                   note=f"{JOBS} jobs started together, {events} events delivered, "
                        f"{seconds:.1f} s; per job: {breakdown}",
                   calls=calls, events=events)]


if __name__ == "__main__":
    exit_with(run)
