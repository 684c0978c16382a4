"""Resource bounds: every queue the daemon holds is bounded, and a running daemon's task count
stays flat under a steady stream of events (the root conftest also fails any test that leaks
a task)."""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from daemon.app import Daemon, run_daemon
from daemon.config.settings import Settings
from daemon.core.alerts import Alert
from daemon.core.clock import FakeClock, SystemClock
from daemon.kernel.outbox import AlertOutbox
from daemon.obs.metrics import Metrics
from daemon.tasks.runner import TaskRunner
from tests.pipeline.helpers import env_of

from .scenario import SLOT0, VAULT, build_world
from .test_message_fuzz import QUEUE, FakeClients, FakeSqs


def test_the_alert_outbox_keeps_at_most_its_capacity() -> None:
    metrics = Metrics(CollectorRegistry())
    outbox = AlertOutbox(None, metrics, None, capacity=100)
    for n in range(1000):
        outbox.submit(Alert("warning", "test", f"alert {n}"))
    assert outbox.pending() == 100
    assert metrics.registry.get_sample_value(
        "backupd_alerts_dropped_total", {"reason": "overflow"}) == 900


class SlowPipeline:
    """Handles a message in 5 ms, so messages pile up if the consumer let them."""

    async def handle(self, body: str, *, receive_count: int = 1) -> str:
        del body, receive_count
        await asyncio.sleep(0.005)
        return "handled"


async def test_the_consumer_holds_a_bounded_number_of_messages() -> None:
    """At most the batches that cover `concurrency`, plus two: the receive loop polls once a
    slot is free and can pass again before the last batch's handlers queue for theirs."""
    sqs = FakeSqs()
    for n in range(300):
        sqs.send(f"m{n}")
    settings = Settings(queue_url=QUEUE, queue={"concurrency": 4, "max_messages": 10})
    metrics = Metrics(CollectorRegistry())
    env = env_of(settings, FakeClients(sqs), metrics)
    consumer, stop = env.consumer(SlowPipeline()), asyncio.Event()  # type: ignore[arg-type]
    running = asyncio.create_task(consumer.run(stop))
    most = 0.0
    async with asyncio.timeout(30):
        while len(sqs.deleted) < 300:
            most = max(most, metrics.registry.get_sample_value("backupd_messages_in_flight") or 0)
            await asyncio.sleep(0.001)
    stop.set()
    await running
    assert 0 < most <= (math.ceil(4 / 10) + 2) * 10


async def test_the_task_runner_queues_at_most_its_limit() -> None:
    settings = Settings(tasks={"restore_concurrency": 1, "queue_limit": 5})
    metrics = Metrics(CollectorRegistry())
    runner = TaskRunner(settings.tasks, clock=SystemClock(), metrics=metrics.tasks,
                        alerts=AlertOutbox(None, metrics, FakeClients(FakeSqs()).sns))
    stop, release = asyncio.Event(), asyncio.Event()

    async def body(task: Any) -> str:
        del task
        await release.wait()
        return "succeeded"

    life = asyncio.create_task(runner.run(stop))
    assert await runner.wait_accepting(stop)
    accepted = 0
    for n in range(50):
        accepted += runner.submit(f"t{n}", "restore", "rule", "table", body)
        await asyncio.sleep(0)
    release.set()
    await runner.drain()
    stop.set()
    await life
    assert accepted <= 1 + 5


@pytest.mark.e2e
@pytest.mark.slow
async def test_a_daemon_under_a_steady_stream_keeps_a_flat_task_count(
        fresh_standin: Any, aws_env: dict[str, str], make_table: Any, make_queue: Any,
        make_topic: Any, make_vault: Any) -> None:
    world = build_world(fresh_standin, make_table, make_queue, make_topic, make_vault)
    settings = Settings(**world.settings(restores=[], exports=[]))
    stop = asyncio.Event()
    ready: asyncio.Future[Daemon] = asyncio.get_running_loop().create_future()

    async def on_ready(wired: Daemon) -> None:
        ready.set_result(wired)

    daemon = asyncio.create_task(run_daemon(
        settings, metrics=Metrics(CollectorRegistry()),
        clock=FakeClock(SLOT0 + timedelta(seconds=1)), stop=stop, on_ready=on_ready))
    counts = []
    try:
        wired = await ready
        for _ in range(6):
            jobs = [fresh_standin.backup.inject_job(arn, VAULT, duration=0.2).job_id
                    for arn in world.tables.values() for _ in range(5)]
            async with asyncio.timeout(30):
                while not (world.queue_depth() == 0
                           and all(wired.kernel.tracker.finished_state(j) for j in jobs)):
                    await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # let the batch's own tasks end
            # the fewest over a second: a pass that happens to run (a reconcile lists its
            # states side by side, a task each) is not held against the round; a leak is
            samples = []
            for _ in range(10):
                samples.append(len(asyncio.all_tasks()))
                await asyncio.sleep(0.1)
            counts.append(min(samples))
    finally:
        stop.set()
        await daemon
    print(f"asyncio tasks after each round of 20 jobs: {counts}")
    assert max(counts[1:]) - min(counts[1:]) <= 3  # flat, not growing with work done
