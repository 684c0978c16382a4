"""The one composition root: builds the kernel, has each configured capability wire itself
from it, and runs what they hand back.

Nothing else reads the environment or builds clients. Order of a run: settings are already
loaded (cli/run.py) -> logging -> AWS clients -> kernel -> capabilities -> tracker rebuilt
from AWS (reconcile) -> components supervised under one TaskGroup until SIGTERM/SIGINT ->
phased shutdown. A capability that is not configured is neither wired nor imported: its
`wire` module is imported here, inside `wire()`, only when the settings ask for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from daemon.aws.default_certs import load_deferred
from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.clock import Clock, SystemClock
from daemon.core.events.tracker import JobTable
from daemon.kernel.bus import CompletionBus
from daemon.kernel.history import RunningHistory
from daemon.kernel.http import HttpServer
from daemon.kernel.kernel import Kernel, Leadership, Wired
from daemon.kernel.members import member_sessions
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import Component, sleep_or_stop, supervise
from daemon.obs.metrics import Metrics

log = structlog.get_logger(__name__)
FREEZE_AFTER_SECONDS = 10.0


@dataclass(frozen=True)
class Daemon:
    """The wired process: its kernel, the components every replica runs (the HTTP server, the
    running-bytes history the status page draws, and the leader gate around everything else),
    and the work to wait for after a stop."""

    kernel: Kernel
    components: tuple[Component, ...]
    settle: tuple[Callable[[], Awaitable[None]], ...] = ()


def build_kernel(settings: Settings, aws: AwsClients, metrics: Metrics, clock: Clock) -> Kernel:
    """The services every capability is wired from."""
    board = StatusBoard(clock)
    alerts = AlertOutbox(settings.alert_topic_arn, metrics, aws.sns, clock=clock)
    board.add("alerts", alerts.status)
    board.set_health("config", True)
    return Kernel(clock=clock, metrics=metrics, bus=CompletionBus(), board=board, alerts=alerts,
                  tracker=JobTable(max_accounts=settings.max_accounts),
                  leadership=Leadership(),
                  members=member_sessions(settings, aws, metrics, alerts, board))


def wire(settings: Settings, aws: AwsClients, kernel: Kernel) -> Daemon:
    """Wire every configured capability (each imported only then) and the leader gate."""
    from daemon.events.wire import wire as wire_events  # noqa: PLC0415 - always configured
    from daemon.ha.wire import wire as wire_ha  # noqa: PLC0415 - always (runs the leader's part)

    events = wire_events(settings, aws, kernel)
    parts: list[Wired] = [events, Wired(leader=(kernel.alerts,))]
    if settings.scheduling_enabled():
        from daemon.scheduling.wire import wire as wire_scheduling  # noqa: PLC0415 - configured

        parts.append(wire_scheduling(settings, aws, kernel))
    if settings.tasks_enabled():
        from daemon.tasks.wire import wire as wire_tasks  # noqa: PLC0415 - configured

        parts.append(wire_tasks(settings, aws, kernel))
    if settings.backup_plans:
        from daemon.plans.wire import wire as wire_plans  # noqa: PLC0415 - configured

        parts.append(wire_plans(settings, aws, kernel))
    gate = wire_ha(settings, aws, kernel, [c for part in parts for c in part.leader],
                   on_acquire=events.on_acquire)
    http = HttpServer(settings.http, kernel.metrics, kernel.board)
    history = RunningHistory(kernel.tracker, kernel.clock, settings.http.history_interval_seconds)
    kernel.board.add("history", history.status)
    return Daemon(kernel, (http, history, gate),
                  tuple(p.settle for p in parts if p.settle is not None))


async def run_daemon(settings: Settings, *, metrics: Metrics | None = None,
                     clock: Clock | None = None, stop: asyncio.Event | None = None,
                     on_ready: Callable[[Daemon], Awaitable[None]] | None = None) -> int:
    """Run until stopped; return the exit code. `stop` lets tests and the demo end it."""
    metrics = metrics or Metrics(revision=settings.revision)
    stop = stop or asyncio.Event()
    _install_signal_handlers(stop)
    async with AwsClients(settings.aws, settings.region, metrics) as aws:
        kernel = build_kernel(settings, aws, metrics, clock or SystemClock())
        daemon = wire(settings, aws, kernel)
        log.info("daemon.starting", region=settings.region, queue_url=settings.queue_url,
                 components=[c.name for c in daemon.components])
        runner = asyncio.create_task(supervise(daemon.components, stop), name="supervisor")
        freezer = asyncio.create_task(_freeze_when_ready(kernel.board, stop), name="gc-freeze")
        if on_ready is not None:
            await on_ready(daemon)
        await _bounded_shutdown(runner, stop, settings.shutdown_grace_seconds)
        freezer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await freezer
        for settle in daemon.settle:
            await settle()
        await kernel.bus.drain()
        log.info("daemon.stopped", tracked_running_jobs=kernel.tracker.running_jobs_total(),
                 alerts_pending=kernel.alerts.pending(),
                 messages_handled=_handled(metrics))
    gc.unfreeze()  # in-process runs (tests, the demo) hand it back to the collector
    return 0


async def _freeze_when_ready(board: StatusBoard, stop: asyncio.Event) -> None:
    """Once the daemon is ready (or FREEZE_AFTER_SECONDS have passed), collect, then freeze
    what exists: modules, settings, components, the AWS clients and models of the first
    passes (~80 000 objects) live as long as the daemon, and a full collection no longer
    walks them (38 ms -> 0 here). Collected first: no garbage frozen. Done after readiness,
    not before: the collection is not on the way to ready. The collector is then (re)enabled:
    `ddb-backupd run` turns it off for the start-up (cli/run.py). aiohttp's default CA store,
    which `run` did not let it load on import, is loaded first (aws/default_certs.py)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FREEZE_AFTER_SECONDS
    while not board.ready() and loop.time() < deadline:
        if await sleep_or_stop(0.05, stop):
            return
    load_deferred()
    gc.collect()
    gc.freeze()
    gc.enable()


async def _bounded_shutdown(runner: asyncio.Task[None], stop: asyncio.Event,
                            grace_seconds: float) -> None:
    """Wait for the components; once stop is set, give them `grace_seconds`, then cancel.

    Work still running in AWS (restores, exports, backup jobs) is not lost by a cancel: it is
    found again from AWS at the next start.
    """
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if runner.done():
        await runner
        return
    done, _ = await asyncio.wait({runner}, timeout=grace_seconds)
    if not done:
        log.warning("daemon.shutdown_budget_exceeded", grace_seconds=grace_seconds)
        runner.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await runner


def _handled(metrics: Metrics) -> int:
    total = 0.0
    for family in metrics.registry.collect():
        if family.name == "backupd_events":
            total += sum(s.value for s in family.samples
                         if s.name.endswith("_total") and s.labels.get("outcome") == "handled")
    return int(total)


def _install_signal_handlers(stop: asyncio.Event) -> None:
    """First SIGTERM/SIGINT asks for a graceful stop; a second one exits at once."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop.is_set():
            # At once means at once: no task cancellation, no executor join, no atexit;
            # whatever is still in flight is rediscovered from AWS at the next start.
            log.warning("daemon.forced_exit", signal=signal.Signals(signum).name)
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(1)
        log.info("daemon.stopping", signal=signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        # Not possible outside the main thread (tests, the demo's embedded daemon): they stop it.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, on_signal, sig)
