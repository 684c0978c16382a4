"""The task runner: bounded per kind, queued beyond, de-duplicated by key, visible, cancellable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from daemon.config.settings import Settings
from daemon.core.clock import FakeClock
from daemon.core.errors import PermanentError
from daemon.kernel.outbox import AlertOutbox
from daemon.obs.metrics import Metrics
from daemon.tasks.runner import RetryLater, State, Task, TaskRunner


@dataclass
class Env:
    """What the runner is built from (its settings, metrics and the alert outbox)."""

    settings: Settings
    metrics: Metrics
    alerts: AlertOutbox

    def runner(self) -> TaskRunner:
        return TaskRunner(self.settings.tasks, clock=FakeClock(), metrics=self.metrics.tasks,
                          alerts=self.alerts)


def context(**tasks: Any) -> Env:
    settings = Settings(tasks={"poll_initial_seconds": 0.01, "poll_max_seconds": 0.02, **tasks})
    metrics = Metrics(CollectorRegistry())
    return Env(settings, metrics, AlertOutbox(None, metrics, None))  # type: ignore[arg-type]


@pytest.fixture
async def started() -> AsyncIterator[tuple[TaskRunner, Env, asyncio.Event]]:
    env = context(restore_concurrency=2, queue_limit=2)
    runner = env.runner()
    stop = asyncio.Event()
    life = asyncio.create_task(runner.run(stop))
    assert await runner.wait_accepting(stop)
    yield runner, env, stop
    stop.set()
    await life


def blocked(gate: asyncio.Event, outcome: State = "succeeded"):  # type: ignore[no-untyped-def]
    async def body(task: Task) -> State:
        await gate.wait()
        return outcome
    return body


def gauge(env: Env, name: str, **labels: str) -> float:
    return env.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_restores_beyond_the_bound_wait_in_the_queue(started: Any) -> None:
    runner, env, _ = started
    gate = asyncio.Event()
    for key in "abcd":
        assert runner.submit(key, "restore", "r", key, blocked(gate))
    await asyncio.sleep(0.01)
    status = runner.status()
    assert (len(status["running"]), len(status["queued"])) == (2, 2)
    assert gauge(env, "backupd_tasks_running", kind="restore") == 2
    assert gauge(env, "backupd_tasks_queued", kind="restore") == 2
    assert not runner.submit("e", "restore", "r", "e", blocked(gate)), "queue_limit is 2"
    assert runner.submit("x", "export", "r", "x", blocked(gate)), "exports have their own slots"
    gate.set()
    await runner.drain()
    assert gauge(env, "backupd_tasks_total", kind="restore", outcome="succeeded") == 4
    assert gauge(env, "backupd_task_duration_seconds_count", kind="restore",
                 outcome="succeeded") == 4


async def test_a_key_already_queued_or_running_is_not_queued_twice(started: Any) -> None:
    runner, _, _ = started
    gate = asyncio.Event()
    assert runner.submit("orders-staging-1", "restore", "r", "orders", blocked(gate))
    assert not runner.submit("orders-staging-1", "restore", "r", "orders", blocked(gate))
    gate.set()
    await runner.drain()
    assert runner.submit("orders-staging-1", "restore", "r", "orders", blocked(gate))
    await runner.drain()


async def test_a_failed_task_raises_an_alert_and_is_listed_with_its_phase(started: Any) -> None:
    runner, env, _ = started

    async def body(task: Task) -> State:
        runner.set_phase(task, "validating", target="orders-staging-1")
        raise PermanentError("validation: 0 items")

    runner.submit("k", "restore", "staging", "orders", body)
    await runner.drain()
    [recent] = runner.status()["recent"]
    assert (recent["state"], recent["phase"], recent["detail"], recent["facts"]["target"]) == (
        "failed", "validating", "validation: 0 items", "orders-staging-1")
    assert env.alerts.pending() == 1
    assert gauge(env, "backupd_tasks_total", kind="restore", outcome="failed") == 1


async def test_a_task_that_must_wait_fails_without_an_alert_and_runs_again_later(
        started: Any) -> None:
    """RetryLater (a member account's role refused, reported elsewhere): the task ends
    failed with the reason, no alert, and the same body is queued again after its delay;
    a stopped runner queues nothing more."""
    runner, env, stop = started
    attempts: list[str] = []

    async def body(task: Task) -> State:
        attempts.append(task.key)
        if len(attempts) == 1:
            raise RetryLater("account 222222222222: its role cannot be assumed now", 0.05)
        return "succeeded"

    runner.submit("k", "restore", "staging", "orders@222222222222", body)
    await runner.drain()
    [failed] = runner.status()["recent"]
    assert (failed["state"], failed["detail"]) == (
        "failed", "account 222222222222: its role cannot be assumed now")
    assert env.alerts.pending() == 0
    for _ in range(100):
        if len(attempts) == 2:
            break
        await asyncio.sleep(0.01)
    await runner.drain()
    assert attempts == ["k", "k"]
    assert [t["state"] for t in runner.status()["recent"]] == ["succeeded", "failed"]
    assert gauge(env, "backupd_tasks_total", kind="restore", outcome="failed") == 1

    later = AlwaysLater()
    runner.submit("later", "restore", "staging", "x", later)
    await runner.drain()
    stop.set()
    await asyncio.sleep(0.1)
    assert later.calls == 1, "no retry once the runner stopped"


class AlwaysLater:
    """A task body that is never ready (counts its calls)."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, task: Task) -> State:
        self.calls += 1
        raise RetryLater("not now", 0.05)


async def test_shutdown_cancels_running_and_queued_tasks_and_stops_intake() -> None:
    env = context(restore_concurrency=1)
    runner = env.runner()
    stop = asyncio.Event()
    life = asyncio.create_task(runner.run(stop))
    await runner.wait_accepting(stop)
    gate = asyncio.Event()
    runner.submit("a", "restore", "r", "a", blocked(gate))
    runner.submit("b", "restore", "r", "b", blocked(gate))
    await asyncio.sleep(0.01)
    stop.set()
    await life
    assert {t["state"] for t in runner.status()["recent"]} == {"cancelled"}
    assert runner.status()["running"] == runner.status()["queued"] == []
    assert not runner.submit("c", "restore", "r", "c", blocked(gate))
    assert gauge(env, "backupd_tasks_total", kind="restore", outcome="cancelled") == 2


async def test_polling_gives_up_with_a_reason_after_its_budget(started: Any) -> None:
    runner, _, _ = started

    async def never() -> bool:
        return False

    with pytest.raises(PermanentError, match="table t to become ACTIVE: not done after 0 s"):
        await runner.poll(never, within=0.05, what="table t to become ACTIVE")


def test_nothing_is_accepted_before_the_runner_runs() -> None:
    runner = context().runner()
    assert not runner.submit("k", "restore", "r", "s", blocked(asyncio.Event()))
