"""The daemon's own services, built in the benchmark's process the way `app.py` builds them.

Logging is configured as in production (JSON lines at info, one canonical line per message)
but written to /dev/null: its cost is part of the daemon's, its text is not wanted here.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from daemon.app import Daemon, build_kernel
from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.clock import Clock, SystemClock
from daemon.events.wire import Events, wire
from daemon.kernel.kernel import Kernel
from daemon.obs.logging import configure_logging
from daemon.obs.metrics import Metrics

_DEVNULL = Path("/dev/null").open("w", encoding="utf-8")  # noqa: SIM115 - for the process


def quiet_logging(level: str = "info") -> None:
    """Production logging (JSON, `level`) into /dev/null."""
    configure_logging(level, json=True, stream=_DEVNULL)


def settings(endpoint_url: str, **overrides: Any) -> Settings:
    """Settings pointed at the stand-in: no leader election, nothing published by default."""
    base: dict[str, Any] = {
        "region": "us-east-1", "http": {"host": "127.0.0.1", "port": 0},
        "aws": {"endpoint_url": endpoint_url, "access_key_id": "testing",
                "secret_access_key": "testing"}}  # the stand-in's dummy credentials
    base.update(overrides)
    return Settings(**base)


@dataclass(frozen=True)
class InProcess:
    """The kernel, real aioboto3 clients, and the events capability wired on them."""

    kernel: Kernel
    aws: AwsClients
    events: Events


@contextlib.asynccontextmanager
async def daemon_context(s: Settings, *, metrics: Metrics | None = None,
                         clock: Clock | None = None) -> AsyncIterator[InProcess]:
    """The events capability as `app.py` wires it, on real clients (closed on exit)."""
    metrics = metrics or Metrics()
    async with AwsClients(s.aws, s.region, metrics) as aws:
        kernel = build_kernel(s, aws, metrics, clock or SystemClock())
        yield InProcess(kernel, aws, wire(s, aws, kernel))


def api_calls(metrics: Metrics) -> dict[str, float]:
    """`backupd_aws_api_calls_total` per "service.operation" (all outcomes)."""
    out: dict[str, float] = {}
    for family in metrics.registry.collect():
        if family.name != "backupd_aws_api_calls":
            continue
        for sample in family.samples:
            if sample.name.endswith("_total"):
                key = f"{sample.labels['service']}.{sample.labels['operation']}"
                out[key] = out.get(key, 0.0) + sample.value
    return out


async def wait_until(condition: Callable[[], bool], interval: float = 0.005) -> None:
    """Poll a condition on state the benchmark observes but does not own (no event to await)."""
    while not condition():  # noqa: ASYNC110 - the daemon offers no event for these states
        await asyncio.sleep(interval)


def reconciled(daemon: Daemon) -> bool:
    """The first reconcile is done: the tracker is rebuilt and the consumer is polling.

    Not `board.ready()`: the consumer reports ready only when its first long poll returns,
    which on an empty queue is `wait_seconds` (20 s) later.
    """
    health = daemon.kernel.board.health.get("reconciler")
    return health is not None and health.ready
