"""Fixtures of the restore and export tests: a leader's task feature running on the stand-in.

`daemon()` starts what the composition root starts for this feature (task runner, restore
and export services, the alert outbox, the HTTP server) on fresh clients, the way a leader
runs them; stopping one and starting another with the same settings is a restart: nothing
carries over but what is in AWS.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from daemon.aws.session import AwsClients
from daemon.config.settings import AwsSettings, Settings
from daemon.core.clock import SystemClock
from daemon.core.events.tracker import JobTable
from daemon.kernel.bus import CompletionBus
from daemon.kernel.context import AppContext
from daemon.kernel.http import HttpServer
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import supervise
from daemon.obs.metrics import Metrics
from daemon.tasks.runner import Task, TaskRunner
from daemon.tasks.wiring import build_tasks

# Catch-up off by default: these tests drive triggers through the bus themselves, and a rescan
# finding the same completed backup in AWS would race them (test_catch_up_e2e turns it on).
FAST_TASKS = {"poll_initial_seconds": 0.05, "poll_max_seconds": 0.2, "rescan_seconds": 3600,
              "catchup_seconds": 0}


@dataclass
class Daemon:
    """One running instance of the feature (a leader)."""

    ctx: AppContext
    runner: TaskRunner
    http: HttpServer | None
    stop: asyncio.Event
    supervisor: asyncio.Task[None]

    def calls(self, operation: str) -> float:
        """How many times this instance called an AWS operation successfully."""
        total = 0.0
        for service in ("dynamodb", "backup", "ssm", "rds", "s3"):
            total += self.ctx.metrics.registry.get_sample_value(
                "backupd_aws_api_calls_total",
                {"service": service, "operation": operation, "outcome": "ok"}) or 0.0
        return total

    def tasks_total(self, kind: str, outcome: str) -> float:
        return self.ctx.metrics.registry.get_sample_value(
            "backupd_tasks_total", {"kind": kind, "outcome": outcome}) or 0.0

    async def settle(self) -> None:
        """Wait for bus handlers, then for every task they queued."""
        await self.ctx.bus.drain()
        await self.runner.drain()

    def interrupt_at(self, phase: str) -> asyncio.Event:
        """Cancel any task the moment it enters `phase` (a crash in the middle)."""
        hit = asyncio.Event()

        def listener(task: Task) -> None:
            if task.phase == phase and not hit.is_set():
                hit.set()
                self.runner.cancel(task.key)

        self.runner.listeners.append(listener)
        return hit


def settings_with(**values: Any) -> Settings:
    tasks = {**FAST_TASKS, **values.pop("tasks", {})}
    return Settings(tasks=tasks, http={"host": "127.0.0.1", "port": 0},
                    cloudwatch={"enabled": False}, **values)


@pytest.fixture
async def daemon(aws_env: dict[str, str]) -> AsyncIterator[Callable[..., Awaitable[Daemon]]]:
    """`await daemon(settings, http=False)` starts an instance (with the HTTP server if asked);
    all are stopped at the end of the test."""
    async with contextlib.AsyncExitStack() as stack:
        started: list[Daemon] = []

        async def start(settings: Settings, *, http: bool = False) -> Daemon:
            metrics = Metrics(CollectorRegistry())
            clients = await stack.enter_async_context(AwsClients(
                AwsSettings(endpoint_url=aws_env["AWS_ENDPOINT_URL"], max_attempts=2),
                aws_env["AWS_REGION"], metrics))
            ctx = AppContext(settings=settings, clock=SystemClock(), metrics=metrics,
                             clients=clients, tracker=JobTable(), bus=CompletionBus(),
                             board=StatusBoard(), alerts=AlertOutbox(None, metrics, clients))
            components = build_tasks(ctx)
            runner = next(c for c in components if isinstance(c, TaskRunner))
            server = HttpServer(settings.http, metrics, ctx.board) if http else None
            stop = asyncio.Event()
            supervisor = asyncio.create_task(supervise(
                [*components, ctx.alerts, *([server] if server else [])], stop))
            instance = Daemon(ctx, runner, server, stop, supervisor)
            started.append(instance)
            assert await runner.wait_accepting(stop)
            stack.push_async_callback(halt, instance)
            return instance

        yield start


async def halt(instance: Daemon) -> None:
    """Stop an instance as SIGTERM would (idempotent)."""
    instance.stop.set()
    await instance.supervisor
    await instance.ctx.bus.drain()


async def wait_until(check: Callable[[], Any], *, tries: int = 200) -> Any:
    """Poll a condition every 50 ms (bounded); the value it returned last."""
    value = None
    for _ in range(tries):
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(0.05)
    return value


@pytest.fixture(autouse=True)
def _pitr_moves_with_time() -> None:
    """moto never moves PITR's latest restorable time; AWS keeps it near now (see module)."""
    from daemon.standin.pitr_clock import install  # noqa: PLC0415 - the stand-in, tests only

    install()
