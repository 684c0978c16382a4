"""Alert latency: SQS send of a threshold-crossing event -> the alert on a subscribed queue.

The daemon runs in this process (`run_daemon`, as the demo runs it) against moto in its own
process: an event queue, an alert topic and an inbox queue subscribed to it (raw delivery
off, as an on-call pipeline would read it). Each crossing is one event: a job RUNNING with
85 % of the limit (ok -> warning), then the same job COMPLETED (warning -> ok; cooldown 0 so
the clear is announced at once). The clock runs from just before SendMessage to the alert's
ReceiveMessage returning. Baseline, interleaved: SendMessage -> ReceiveMessage of a plain
message on a plain queue, the floor any SQS-fed alert path has.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

from benchmarks.common import Figure, Target, exit_with, figure, percentile
from benchmarks.corpus import ACCOUNT, REGION, iso_ms, iso_s
from benchmarks.inprocess import quiet_logging, reconciled, settings, wait_until
from benchmarks.sandbox import Sandbox
from daemon.app import Daemon, run_daemon
from daemon.obs.metrics import Metrics

CROSSINGS = 200
GIB = 2**30
LIMIT = 100 * GIB


def crossing_event(job_id: str, state: str) -> str:
    """A backup job event that moves the running total across the warning level."""
    from datetime import UTC, datetime  # noqa: PLC0415

    now = datetime.now(UTC)
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders-production"
    return json.dumps({
        "version": "0", "id": str(uuid.uuid4()), "detail-type": "Backup Job State Change",
        "source": "aws.backup", "account": ACCOUNT, "time": iso_s(now), "region": REGION,
        "resources": [table], "detail": {
            "backupJobId": job_id, "state": state, "backupVaultName": "Default",
            "backupVaultArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:Default",
            "resourceArn": table, "resourceType": "DynamoDB", "creationDate": iso_ms(now),
            "backupSizeInBytes": str(int(LIMIT * 0.85))}})


def _receive_one(sqs: Any, queue_url: str) -> dict[str, Any]:
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1,
                                  WaitTimeSeconds=10).get("Messages", [])
        if got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=got[0]["ReceiptHandle"])
            return dict(got[0])


def _timed(sqs: Any, send_to: str, body: str, receive_from: str) -> tuple[float, dict[str, Any]]:
    start = time.perf_counter()
    sqs.send_message(QueueUrl=send_to, MessageBody=body)
    message = _receive_one(sqs, receive_from)
    return time.perf_counter() - start, message


def drive(sb: Sandbox, events_url: str, inbox_url: str, plain_url: str,
          crossings: int) -> tuple[list[float], list[float], list[str]]:
    """(alert latencies, plain latencies, alert events seen), interleaved one by one."""
    sqs = sb.client("sqs")
    alerts, plain, seen = [], [], []
    job_id = ""
    for i in range(crossings):
        plain.append(_timed(sqs, plain_url, f"ping {i}", plain_url)[0])
        if i % 2 == 0:
            job_id = str(uuid.uuid4()).upper()
        body = crossing_event(job_id, "RUNNING" if i % 2 == 0 else "COMPLETED")
        latency, message = _timed(sqs, events_url, body, inbox_url)
        alerts.append(latency)
        seen.append(json.loads(json.loads(message["Body"])["Message"])["event"])
    return alerts, plain, seen


async def _measure(sb: Sandbox, crossings: int) -> tuple[list[float], list[float], list[str]]:
    events_url = sb.queue("bench-alert-events")
    plain_url = sb.queue("bench-plain")
    topic, inbox_url = sb.topic_with_inbox("bench-alerts", "bench-alert-inbox")
    s = settings(sb.url, queue_url=events_url, alert_topic_arn=topic, limit_bytes=LIMIT,
                 alert_cooldown_seconds=0, reconcile_seconds=3600,
                 cloudwatch={"enabled": False})
    stop = asyncio.Event()
    result: list[tuple[list[float], list[float], list[str]]] = []
    helpers: list[asyncio.Task[None]] = []

    async def measure(wired: Daemon) -> None:
        try:
            await wait_until(lambda: reconciled(wired))  # the consumer's first poll is open
            result.append(await asyncio.to_thread(drive, sb, events_url, inbox_url, plain_url,
                                                  crossings))
        finally:
            stop.set()

    async def on_ready(wired: Daemon) -> None:
        helpers.append(asyncio.create_task(measure(wired)))

    await run_daemon(s, metrics=Metrics(), stop=stop, on_ready=on_ready)
    await asyncio.gather(*helpers)
    return result[0]


def run() -> list[Figure]:
    quiet_logging()
    with Sandbox() as sb:
        alerts, plain, seen = asyncio.run(_measure(sb, CROSSINGS))
    expected = ["threshold.warning" if i % 2 == 0 else "threshold.cleared"
                for i in range(CROSSINGS)]
    wrong = sum(a != b for a, b in zip(seen, expected, strict=True))
    p99, base = percentile(alerts, 99), percentile(plain, 99)
    return [figure(
        "alert_latency_p99_s", p99, "s", Target("<", 1), baseline=base,
        baseline_unit="s plain SQS p99", ratio=p99 / base, p50_s=round(percentile(alerts, 50), 4),
        baseline_p50_s=round(percentile(plain, 50), 4), crossings=CROSSINGS,
        note=f"{CROSSINGS} crossings; p50 {percentile(alerts, 50) * 1000:.0f} ms vs plain SQS "
             f"p50 {percentile(plain, 50) * 1000:.0f} ms"
             + (f"; {wrong} alerts were not the expected ones" if wrong else ""))]


if __name__ == "__main__":
    exit_with(run)
