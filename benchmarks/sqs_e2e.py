"""SQS into the tracker: the daemon's consumer against a bare aioboto3 receive + delete loop.

Same moto server (its own process), same queue, same realistic bodies. The bare loop is the
least any consumer can do: ReceiveMessage (10, long poll), DeleteMessageBatch, repeat. The
daemon's `Consumer.run` does all it does in production on top: decode, tracker apply,
DescribeTable for sizes the events lack, thresholds, a log line per message, metrics,
visibility bookkeeping. moto answers only ~50-60 receive+delete messages/s, which bounds
both; the figure is the ratio, measured in alternating rounds, best of each.
"""

from __future__ import annotations

import asyncio
import time

import aioboto3

from benchmarks.common import Figure, Target, exit_with, figure
from benchmarks.corpus import Corpus
from benchmarks.inprocess import api_calls, daemon_context, quiet_logging, settings, wait_until
from benchmarks.sandbox import REGION, Sandbox
from daemon.obs.metrics import Metrics

MESSAGES = 150
ROUNDS = 3


async def bare_loop(url: str, queue_url: str, count: int) -> float:
    """Seconds for a plain receive + delete-batch loop to drain `count` messages."""
    session = aioboto3.Session(region_name=REGION, aws_access_key_id="testing",
                               aws_secret_access_key="testing")
    async with session.client("sqs", endpoint_url=url) as sqs:
        await sqs.get_queue_attributes(QueueUrl=queue_url)  # connection up before timing
        done = 0
        start = time.perf_counter()
        while done < count:
            resp = await sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                             WaitTimeSeconds=20)
            messages = resp.get("Messages", [])
            if messages:
                await sqs.delete_message_batch(QueueUrl=queue_url, Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)])
                done += len(messages)
        return time.perf_counter() - start


async def daemon_consumer(url: str, queue_url: str, count: int) -> tuple[float, dict[str, float]]:
    """Seconds for the daemon's consumer to take `count` messages into the tracker, and the
    AWS calls it made meanwhile."""
    s = settings(url, queue_url=queue_url)
    metrics = Metrics()
    async with daemon_context(s, metrics=metrics) as bench:
        consumer = bench.events.consumer
        assert consumer is not None
        sqs = await bench.aws.sqs()
        await sqs.get_queue_attributes(QueueUrl=queue_url)  # connection up before timing
        await bench.aws.dynamodb()  # its service model loaded before timing, too
        stop = asyncio.Event()
        start = time.perf_counter()
        task = asyncio.create_task(consumer.run(stop))
        await wait_until(lambda: consumer.processed >= count)
        elapsed = time.perf_counter() - start
        calls = api_calls(metrics)
        stop.set()
        await task
        return elapsed, calls


def run() -> list[Figure]:
    quiet_logging()
    bodies = Corpus(seed=9).bodies(MESSAGES // 4)[:MESSAGES]
    bare, ours = [], []
    with Sandbox() as sb:
        for i in range(ROUNDS):
            # A fresh queue per run: a stopped consumer's abandoned long poll stays open in
            # moto and would hide the next run's first messages for a visibility timeout.
            queue_url = sb.queue(f"bench-e2e-bare-{i}")
            sb.fill(queue_url, bodies)
            bare.append(asyncio.run(bare_loop(sb.url, queue_url, len(bodies))))
            queue_url = sb.queue(f"bench-e2e-daemon-{i}")
            sb.fill(queue_url, bodies)
            elapsed, calls = asyncio.run(daemon_consumer(sb.url, queue_url, len(bodies)))
            ours.append(elapsed)
    bare_rate = len(bodies) / min(bare)
    our_rate = len(bodies) / min(ours)
    return [figure(
        "sqs_e2e_vs_bare_loop", our_rate / bare_rate, "x bare loop", Target(">=", 0.8),
        baseline=bare_rate, baseline_unit="msg/s bare loop", ratio=our_rate / bare_rate,
        daemon_msgs_per_s=round(our_rate, 1),
        note=f"{len(bodies)} messages x {ROUNDS} rounds; daemon {our_rate:.0f} msg/s, bare "
             f"{bare_rate:.0f} msg/s (moto bounds both); daemon's calls per run: "
             + ", ".join(f"{k} {v:.0f}" for k, v in sorted(calls.items())),
        daemon_calls=calls)]


if __name__ == "__main__":
    exit_with(run)
