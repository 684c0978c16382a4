"""Building the daemon's services against the stand-in, as app.py does, for one test."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from daemon.app import build_kernel
from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.clock import Clock, SystemClock
from daemon.core.events.monitor import Scope
from daemon.core.events.tracker import JobTable
from daemon.events.cloudwatch import CloudWatchPublisher
from daemon.events.consumer import Consumer, Handler
from daemon.events.pipeline import Limits, Pipeline, Sizes
from daemon.events.reconciler import Reconciler
from daemon.events.sizes import SizeResolver
from daemon.events.wire import job_sources
from daemon.kernel.kernel import Kernel
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.obs.metrics import Metrics


def settings(**overrides: Any) -> Settings:
    """Settings for a test: fast polls and intervals, the stand-in's region."""
    base: dict[str, Any] = {
        "region": "us-east-1", "reconcile_seconds": 5, "shutdown_grace_seconds": 2,
        "queue": {"wait_seconds": 1, "visibility_timeout_seconds": 30},
        "http": {"host": "127.0.0.1", "port": 0},
        "cloudwatch": {"interval_seconds": 1},
        "aws": {"max_attempts": 2},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return Settings(**base)


@dataclass
class Env:
    """The kernel and clients app.py builds, and the events components built as
    `daemon.events.wire` builds them, for one test."""

    settings: Settings
    aws: Any  # AwsClients, or a double with the accessors the test's path calls
    kernel: Kernel

    @property
    def tracker(self) -> JobTable:
        return self.kernel.tracker

    @property
    def metrics(self) -> Metrics:
        return self.kernel.metrics

    @property
    def board(self) -> StatusBoard:
        return self.kernel.board

    @property
    def alerts(self) -> AlertOutbox:
        return self.kernel.alerts

    @property
    def clock(self) -> Clock:
        return self.kernel.clock

    def sizes(self) -> SizeResolver:
        return SizeResolver(self.aws.dynamodb, self.settings.size_cache_seconds,
                            self.settings.region)

    def pipeline(self, sizes: Sizes | None = None) -> Pipeline:
        k = self.kernel
        return Pipeline(k.tracker, sizes or self.sizes(), Limits.of(self.settings),
                        metrics=k.metrics.events, alerts=k.alerts, bus=k.bus, clock=k.clock,
                        accounts=self.settings.accounts)

    def consumer(self, pipeline: Handler) -> Consumer:
        s = self.settings
        return Consumer(s.queue_url or "", s.queue, self.aws.sqs, pipeline,
                        metrics=self.metrics.events, board=self.board,
                        grace_seconds=s.shutdown_grace_seconds)

    def reconciler(self, pipeline: Pipeline) -> Reconciler:
        return Reconciler(job_sources(self.settings, self.aws, self.kernel.members), pipeline,
                          self.tracker, region=self.settings.region,
                          interval_seconds=self.settings.reconcile_seconds,
                          metrics=self.metrics.events, board=self.board, clock=self.clock)

    def cloudwatch(self) -> CloudWatchPublisher:
        s = self.settings
        return CloudWatchPublisher(self.aws.cloudwatch, s.cloudwatch, self.tracker,
                                   metrics=self.metrics.events, clock=self.clock,
                                   scope=Scope.of(s.monitor.resource_types, s.monitor.states),
                                   sources=self.kernel.datums)


def env_of(s: Settings, aws: Any, metrics: Metrics | None = None,
           clock: Clock | None = None) -> Env:
    """An Env on `aws` (real clients or a double), with its own registry by default."""
    metrics = metrics or Metrics(CollectorRegistry())
    return Env(s, aws, build_kernel(s, aws, metrics, clock or SystemClock()))


@asynccontextmanager
async def context(s: Settings, clock: Clock | None = None,
                  ) -> AsyncIterator[tuple[Env, Pipeline]]:
    """An Env with its own registry on real clients, and the pipeline app.py would build."""
    metrics = Metrics(CollectorRegistry())
    async with AwsClients(s.aws, s.region, metrics) as aws:
        env = env_of(s, aws, metrics, clock)
        yield env, env.pipeline()


def backup_event(job_id: str, state: str, *, table: str = "orders", size: int | None = None,
                 vault: str = "ops", when: str = "2026-11-24T05:00:09Z",
                 account: str = "123456789012", region: str = "us-east-1") -> str:
    """A raw EventBridge `Backup Job State Change` body, as AWS sends it."""
    detail: dict[str, Any] = {
        "backupJobId": job_id, "backupVaultName": vault,
        "backupVaultArn": f"arn:aws:backup:{region}:{account}:backup-vault:{vault}",
        "resourceArn": f"arn:aws:dynamodb:{region}:{account}:table/{table}",
        "resourceType": "DynamoDB", "state": state,
        "creationDate": "2026-11-24T05:00:01.100Z",
    }
    if size is not None:
        detail["backupSizeInBytes"] = str(size)
    if state == "COMPLETED":
        detail["recoveryPointArn"] = f"arn:aws:backup:{region}:{account}:recovery-point:{job_id}"
    return json.dumps({
        "version": "0", "id": f"evt-{job_id}-{state}", "detail-type": "Backup Job State Change",
        "source": "aws.backup", "account": account, "time": when,
        "region": region, "resources": [], "detail": detail})


def now_utc() -> datetime:
    return datetime.now(UTC)
