"""Wiring of the events capability: what `app.py` runs to track backup jobs and alert on them.

Always wired (the tracker, the reconciler and the threshold alerts work without a queue);
the SQS consumer only with a `queue_url`, CloudWatch publishing only when enabled: a part
that is not configured is not imported either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.events.monitor import Scope
from daemon.events.listers import JobSources, MemberRoles, Members, Organization, OwnAccount
from daemon.events.pipeline import Limits, Pipeline, ThresholdWatch
from daemon.events.reconciler import Reconciler
from daemon.events.sizes import SizeResolver
from daemon.events.status import register as register_status
from daemon.kernel.kernel import Kernel, Wired
from daemon.kernel.supervisor import Component
from daemon.obs.collector import TrackerCollector

if TYPE_CHECKING:
    from daemon.events.cloudwatch import CloudWatchPublisher
    from daemon.events.consumer import Consumer


@dataclass(frozen=True, kw_only=True)
class Events(Wired):
    """The capability's components, by name (tests and benchmarks drive them)."""

    pipeline: Pipeline
    reconciler: Reconciler
    consumer: Consumer | None
    cloudwatch: CloudWatchPublisher | None


def wire(settings: Settings, aws: AwsClients, kernel: Kernel) -> Events:
    """The pipeline and its leader components: consumer, reconciler, threshold watch,
    CloudWatch publisher. A new leader reconciles first; a stop waits for size lookups."""
    metrics, limits = kernel.metrics.events, Limits.of(settings)
    sizes = SizeResolver(aws.dynamodb, settings.size_cache_seconds, settings.region,
                         kernel.members)
    pipeline = Pipeline(kernel.tracker, sizes,
                        limits, metrics=metrics, alerts=kernel.alerts,
                        bus=kernel.bus, clock=kernel.clock, accounts=settings.accounts)
    kernel.metrics.registry.register(TrackerCollector(
        kernel.tracker, pipeline.thresholds_view, limits.limit_bytes, enabled=kernel.is_leader,
        ratios={"warning": settings.warning_ratio, "critical": settings.critical_ratio},
        levels=pipeline.levels))
    register_status(kernel.board, kernel.tracker, pipeline.thresholds_view, settings,
                    levels=pipeline.levels, limit_bytes=limits.limit_bytes)
    reconciler = Reconciler(job_sources(settings, aws, kernel.members), pipeline,
                            kernel.tracker, region=settings.region,
                            interval_seconds=settings.reconcile_seconds, metrics=metrics,
                            board=kernel.board, clock=kernel.clock)
    consumer = cloudwatch = None
    if settings.queue_url:
        from daemon.events.consumer import Consumer  # noqa: PLC0415 - only with a queue

        consumer = Consumer(settings.queue_url, settings.queue, aws.sqs, pipeline,
                            metrics=metrics, board=kernel.board,
                            grace_seconds=settings.shutdown_grace_seconds)
    else:
        kernel.board.set_health("consumer", True, "no queue_url configured: consumer disabled")
        metrics.consumer_up(True)  # disabled on purpose is not an outage
    if settings.cloudwatch.enabled:
        from daemon.events.cloudwatch import CloudWatchPublisher  # noqa: PLC0415 - only when on

        scope = Scope.of(settings.monitor.resource_types, settings.monitor.states)
        cloudwatch = CloudWatchPublisher(aws.cloudwatch, settings.cloudwatch, kernel.tracker,
                                         metrics=metrics, clock=kernel.clock, scope=scope,
                                         sources=kernel.datums)
    leader: list[Component | None] = [consumer, reconciler, ThresholdWatch(pipeline), cloudwatch]
    return Events(leader=tuple(c for c in leader if c is not None),
                  on_acquire=reconciler.run_once, settle=pipeline.settle, pipeline=pipeline,
                  reconciler=reconciler, consumer=consumer, cloudwatch=cloudwatch)


def job_sources(settings: Settings, aws: AwsClients, members: Members | None) -> JobSources:
    """Whose jobs the reconcile lists: with an Organization, every member account's through
    cross-account monitoring (those of `accounts:`, else `*`); with member roles and
    `accounts:`, each of them through its role; else the daemon's own account."""
    if settings.organization.enabled:
        return Organization(aws.backup, list(settings.accounts) or ["*"])
    if members is not None and settings.accounts:
        return MemberRoles(members, settings.accounts)
    return OwnAccount(aws.backup)
