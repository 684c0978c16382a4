"""Soak: the daemon under a steady event stream for 30 minutes; memory and tasks must stay flat.

Not run in CI (it takes half an hour). It starts `ddb-backupd sandbox` as a separate process
(so the stand-in's own memory is not counted), runs the daemon in this process with a
one-minute backup schedule, and feeds SQS a steady stream of AWS Backup job events
(CREATED -> RUNNING -> COMPLETED, a few FAILED) while sampling, every interval: resident
memory (VmRSS), asyncio tasks, jobs tracked, messages handled. The verdict compares the second
half of the run with the first: memory may not grow by more than --max-growth-mib, the task
count may not drift by more than --max-task-drift. Exit 0 when flat, 1 otherwise.

    .venv/bin/python scripts/soak.py                      # 30 minutes, 5 events/s
    .venv/bin/python scripts/soak.py --minutes 2 --rate 20 --out benchmarks/out/soak.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
from prometheus_client import CollectorRegistry

from daemon.app import Daemon, run_daemon
from daemon.config.settings import Settings
from daemon.obs.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]
REGION, ACCOUNT = "us-east-1", "123456789012"
TABLES = [f"soak-{n}" for n in range(5)]


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def event(job_id: str, table: str, state: str) -> str:
    detail: dict[str, Any] = {
        "backupJobId": job_id, "backupVaultName": "soak", "state": state,
        "backupVaultArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:soak",
        "resourceArn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}",
        "resourceType": "DynamoDB", "creationDate": "2026-11-24T05:00:01Z",
        "backupSizeInBytes": str(random.randint(1, 2**30))}
    return json.dumps({"version": "0", "id": str(uuid.uuid4()), "source": "aws.backup",
                       "detail-type": "Backup Job State Change", "account": ACCOUNT,
                       "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "region": REGION, "resources": [], "detail": detail})


def start_sandbox() -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "sandbox"], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def client(url: str, service: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=url,
                        aws_access_key_id="soak", aws_secret_access_key="soak")


def prepare(url: str) -> str:
    ddb = client(url, "dynamodb")
    for name in TABLES:
        ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                         KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    return str(client(url, "sqs").create_queue(QueueName="soak-events")["QueueUrl"])


async def feed(url: str, queue: str, rate: float, stop: asyncio.Event) -> int:
    """Send `rate` events a second: each job CREATED, RUNNING, then COMPLETED (or FAILED)."""
    sqs, sent, open_jobs = client(url, "sqs"), 0, []
    while not stop.is_set():
        batch = []
        for _ in range(max(1, int(rate))):
            if open_jobs and random.random() < 0.66:
                job, table, state = open_jobs.pop(0)
                nxt = {"CREATED": "RUNNING"}.get(state) or random.choice(
                    ["COMPLETED"] * 9 + ["FAILED"])
                if nxt == "RUNNING":
                    open_jobs.append((job, table, nxt))
                batch.append(event(job, table, nxt))
            else:
                job, table = str(uuid.uuid4()), random.choice(TABLES)
                open_jobs.append((job, table, "CREATED"))
                batch.append(event(job, table, "CREATED"))
        for start in range(0, len(batch), 10):
            entries = [{"Id": str(i), "MessageBody": b}
                       for i, b in enumerate(batch[start:start + 10])]
            await asyncio.to_thread(sqs.send_message_batch, QueueUrl=queue, Entries=entries)
        sent += len(batch)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1.0)
    return sent


def handled(metrics: Metrics) -> float:
    return sum(s.value for f in metrics.registry.collect() if f.name == "backupd_events"
               for s in f.samples if s.name.endswith("_total")
               and s.labels.get("outcome") == "handled")


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    sandbox, url = start_sandbox()
    try:
        queue = prepare(url)
        settings = Settings(
            region=REGION, queue_url=queue, reconcile_seconds=60,
            aws={"endpoint_url": url, "access_key_id": "soak", "secret_access_key": "soak"},
            http={"host": "127.0.0.1", "port": 0}, cloudwatch={"interval_seconds": 60},
            schedules=[{"name": "soak", "expression": "rate(1 minute)", "tables": TABLES,
                        "retention": {"keep_last": 3}}])
        metrics, stop = Metrics(CollectorRegistry()), asyncio.Event()
        ready: asyncio.Future[Daemon] = asyncio.get_running_loop().create_future()

        async def on_ready(wired: Daemon) -> None:
            ready.set_result(wired)

        daemon = asyncio.create_task(run_daemon(settings, metrics=metrics, stop=stop,
                                                on_ready=on_ready))
        wired = await ready
        feeding = asyncio.create_task(feed(url, queue, args.rate, stop))
        samples = await sample(wired, metrics, args)
        stop.set()
        sent = await feeding
        await daemon
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    return verdict(samples, sent, args)


async def sample(wired: Daemon, metrics: Metrics,
                 args: argparse.Namespace) -> list[dict[str, float]]:
    samples, started = [], time.monotonic()
    while time.monotonic() - started < args.minutes * 60:
        await asyncio.sleep(args.interval)
        row = {"t": round(time.monotonic() - started), "rss_mib": round(rss_mib(), 1),
               "tasks": len(asyncio.all_tasks()), "running_jobs": wired.kernel.tracker.running_jobs_total(),
               "handled": handled(metrics)}
        samples.append(row)
        print(json.dumps(row), flush=True)
    return samples


def verdict(samples: list[dict[str, float]], sent: int, args: argparse.Namespace,
            ) -> dict[str, Any]:
    half = len(samples) // 2
    first, second = samples[:half] or samples, samples[half:] or samples
    growth = max(s["rss_mib"] for s in second) - max(s["rss_mib"] for s in first)
    drift = max(s["tasks"] for s in second) - min(s["tasks"] for s in first)
    return {"minutes": args.minutes, "events_sent": sent, "events_handled": samples[-1]["handled"],
            "rss_growth_mib": round(growth, 1), "task_drift": drift,
            "flat": growth <= args.max_growth_mib and drift <= args.max_task_drift,
            "samples": samples}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=5.0, help="events per second")
    parser.add_argument("--interval", type=float, default=30.0, help="seconds between samples")
    parser.add_argument("--max-growth-mib", type=float, default=20.0)
    parser.add_argument("--max-task-drift", type=int, default=10)
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args()
    result = asyncio.run(soak(args))
    summary = {k: v for k, v in result.items() if k != "samples"}
    print(json.dumps(summary))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0 if result["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
