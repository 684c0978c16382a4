"""The one composition root: builds every service once and passes it down, then runs them.

Nothing else reads the environment or builds clients. Order of a run: settings are already
loaded (cli/run.py) -> logging -> AWS clients -> tracker rebuilt from AWS (reconcile) ->
components supervised under one TaskGroup until SIGTERM/SIGINT -> phased shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import signal
import sys
from collections.abc import Awaitable, Callable

import structlog

from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.clock import Clock, SystemClock
from daemon.core.events.tracker import JobTable
from daemon.events.cloudwatch import CloudWatchPublisher
from daemon.events.consumer import Consumer
from daemon.events.pipeline import Pipeline, ThresholdWatch
from daemon.events.reconciler import Reconciler
from daemon.events.sizes import SizeResolver
from daemon.events.status import register as register_events_status
from daemon.ha.gate import LeaderGate
from daemon.kernel.bus import CompletionBus
from daemon.kernel.context import AppContext
from daemon.kernel.history import RunningHistory
from daemon.kernel.http import HttpServer
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.kernel.supervisor import Component, supervise
from daemon.obs.collector import TrackerCollector
from daemon.obs.metrics import Metrics
from daemon.scheduling.scheduler import build_scheduler
from daemon.tasks.wiring import build_tasks

log = structlog.get_logger(__name__)


def build_context(settings: Settings, clients: AwsClients, metrics: Metrics,
                  clock: Clock) -> AppContext:
    """Shared services every component is built from."""
    ctx = AppContext(
        settings=settings, clock=clock, metrics=metrics, clients=clients,
        tracker=JobTable(), bus=CompletionBus(), board=StatusBoard(clock),
        alerts=AlertOutbox(settings.alert_topic_arn, metrics, clients, clock=clock),
    )
    ctx.board.set_health("config", True)
    ctx.board.add("alerts", ctx.alerts.status)
    return ctx


def wire(ctx: AppContext) -> Pipeline:
    """Build and register every component. Each feature adds itself at its marked place."""
    sizes = SizeResolver(ctx)
    pipeline = Pipeline(ctx, sizes)
    collector = TrackerCollector(ctx.tracker, pipeline.thresholds_view, ctx.settings.limit_bytes,
                                 enabled=lambda: ctx.is_leader())  # noqa: PLW0108 - late-bound: the leader gate replaces ctx.is_leader
    ctx.metrics.registry.register(collector)
    register_events_status(ctx.board, ctx.tracker, pipeline.thresholds_view, ctx.settings)
    history = RunningHistory(ctx.tracker, ctx.clock, ctx.settings.http.history_interval_seconds)
    ctx.board.add("history", history.status)
    ctx.components.append(HttpServer(ctx.settings.http, ctx.metrics, ctx.board))
    ctx.components.append(history)
    # --- event pipeline (leader only: consumes SQS, reconciles, publishes, alerts) ---
    if ctx.settings.queue_url:
        ctx.leader_components.append(Consumer(ctx, pipeline))
    else:
        ctx.board.set_health("consumer", True, "no queue_url configured: consumer disabled")
        ctx.metrics.events.consumer_up(True)  # disabled on purpose is not an outage
    ctx.leader_components.append(Reconciler(ctx, pipeline))
    ctx.leader_components.append(ctx.alerts)
    ctx.leader_components.append(ThresholdWatch(pipeline))
    if ctx.settings.cloudwatch.enabled:
        ctx.leader_components.append(CloudWatchPublisher(ctx))
    # --- scheduler and retention ---
    ctx.leader_components.extend(build_scheduler(ctx))
    # --- restores and exports ---
    ctx.leader_components.extend(build_tasks(ctx))
    return pipeline


async def run_daemon(settings: Settings, *, metrics: Metrics | None = None,
                     clock: Clock | None = None, stop: asyncio.Event | None = None,
                     on_ready: Callable[[AppContext], Awaitable[None]] | None = None) -> int:
    """Run until stopped; return the exit code. `stop` lets tests and the demo end it."""
    metrics = metrics or Metrics()
    stop = stop or asyncio.Event()
    _install_signal_handlers(stop)
    async with AwsClients(settings.aws, settings.region, metrics) as clients:
        ctx = build_context(settings, clients, metrics, clock or SystemClock())
        pipeline = wire(ctx)
        # --- leader election (wraps ctx.leader_components) ---
        reconciler = next((c for c in ctx.leader_components if isinstance(c, Reconciler)), None)
        gate = LeaderGate.build(settings.leader, clients, metrics.leader, ctx.board,
                                ctx.leader_components,
                                on_acquire=reconciler.run_once if reconciler else None)
        ctx.is_leader = gate.is_leader
        components: list[Component] = [*ctx.components, gate]
        log.info("daemon.starting", region=settings.region, queue_url=settings.queue_url,
                 components=[c.name for c in components])
        # What exists by now (modules, settings, components: ~75 000 objects) lives as long
        # as the daemon: frozen, a full collection no longer walks it (38 ms -> 0 here; the
        # AWS clients, made on first use, stay in sight). Collected first: no garbage frozen.
        gc.collect()
        gc.freeze()
        runner = asyncio.create_task(supervise(components, stop), name="supervisor")
        if on_ready is not None:
            await on_ready(ctx)
        await _bounded_shutdown(runner, stop, settings.shutdown_grace_seconds)
        await pipeline.settle()
        await ctx.bus.drain()
        log.info("daemon.stopped", tracked_running_jobs=ctx.tracker.running_jobs_total(),
                 alerts_pending=ctx.alerts.pending(),
                 messages_handled=_handled(metrics))
    gc.unfreeze()  # in-process runs (tests, the demo) hand it back to the collector
    return 0


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
