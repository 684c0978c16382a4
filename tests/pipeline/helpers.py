"""Building the daemon's services against the stand-in, as app.py does, for one test."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry

from daemon.app import build_context
from daemon.aws.session import AwsClients
from daemon.config.settings import Settings
from daemon.core.clock import Clock, SystemClock
from daemon.events.pipeline import Pipeline
from daemon.events.sizes import SizeResolver
from daemon.kernel.context import AppContext
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


@asynccontextmanager
async def context(s: Settings, clock: Clock | None = None,
                  ) -> AsyncIterator[tuple[AppContext, Pipeline]]:
    """An AppContext with its own registry, and the pipeline app.py would build."""
    metrics = Metrics(CollectorRegistry())
    async with AwsClients(s.aws, s.region, metrics) as clients:
        ctx = build_context(s, clients, metrics, clock or SystemClock())
        yield ctx, Pipeline(ctx, SizeResolver(ctx))


def backup_event(job_id: str, state: str, *, table: str = "orders", size: int | None = None,
                 vault: str = "ops", when: str = "2026-11-24T05:00:09Z") -> str:
    """A raw EventBridge `Backup Job State Change` body, as AWS sends it."""
    detail: dict[str, Any] = {
        "backupJobId": job_id, "backupVaultName": vault,
        "backupVaultArn": f"arn:aws:backup:us-east-1:123456789012:backup-vault:{vault}",
        "resourceArn": f"arn:aws:dynamodb:us-east-1:123456789012:table/{table}",
        "resourceType": "DynamoDB", "state": state,
        "creationDate": "2026-11-24T05:00:01.100Z",
    }
    if size is not None:
        detail["backupSizeInBytes"] = str(size)
    if state == "COMPLETED":
        detail["recoveryPointArn"] = f"arn:aws:backup:us-east-1:123456789012:recovery-point:{job_id}"
    return json.dumps({
        "version": "0", "id": f"evt-{job_id}-{state}", "detail-type": "Backup Job State Change",
        "source": "aws.backup", "account": "123456789012", "time": when,
        "region": "us-east-1", "resources": [], "detail": detail})


def now_utc() -> datetime:
    return datetime.now(UTC)
