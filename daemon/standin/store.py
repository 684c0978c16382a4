"""The fake's shared state: records, settings, plans, and the outbox of messages to deliver.

One re-entrant lock guards every record; werkzeug's request threads and the clock thread
take it for each operation. Messages (EventBridge events, vault notifications) are queued
in an outbox under the lock and delivered to moto's SQS/SNS after it is released, by one
thread at a time, so they leave in the order the state changed and no moto call ever runs
while the lock is held. HTTP calls only queue; the clock thread delivers (within one tick),
so an API call's latency never includes moto's SQS/SNS work. The control object's calls
deliver at once, so a test sees their messages as soon as they return.

Several accounts: each request acts as its caller's account (`acting_as`, set by the server
from the request's credentials as moto derives it: an assumed role's keys name the role's
account), and so does the clock while it moves one account's job. `Store.account` is that
account, `Store.home` the stand-in's own (whose queues receive the events).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.standin.models import (
    BackupJob,
    BackupSelection,
    PlanVersion,
    RecoveryPoint,
    RestoreJob,
    Timetable,
)

log = logging.getLogger(__name__)
_CALLER: ContextVar[str | None] = ContextVar("standin_caller", default=None)


@contextmanager
def acting_as(account: str) -> Iterator[None]:
    """Serve this request (or move this job) as `account`: its records, its moto backends."""
    token = _CALLER.set(account)
    try:
        yield
    finally:
        _CALLER.reset(token)


def caller(home: str) -> str:
    """The account the current request or job acts as, else `home`."""
    return _CALLER.get() or home


@dataclass(slots=True)
class FakeConfig:
    """Defaults for every job; `BackupFake.configure(...)` changes them at run time."""

    duration_seconds: float = 1.0  # RUNNING -> final state
    start_delay_seconds: float = 0.2  # CREATED/PENDING -> RUNNING
    failure_rate: float = 0.0  # share of jobs that end FAILED (seeded RNG)
    seed: int = 0
    default_size_bytes: int = 1024**3  # when the resource has no table to measure
    native_dynamodb_arns: bool = False  # DynamoDB jobs make real moto DynamoDB backups
    idempotency_seconds: float = 3600.0  # how long a token maps to the same job
    tick_seconds: float = 0.05  # clock thread period


@dataclass(frozen=True, slots=True)
class Plan:
    """How the next jobs of one resource (or restores of one recovery point) turn out."""

    state: str | None = None
    size_bytes: int | None = None
    duration: float | None = None  # seconds RUNNING; float("inf") holds until finish()
    start_delay: float | None = None
    status_message: str | None = None
    once: bool = False


@dataclass(frozen=True, slots=True)
class EventTarget:
    """Where state-change events go, like an EventBridge rule with an SQS target."""

    queue_url: str
    sns_wrapped: bool = False
    topic_arn: str | None = None


@dataclass(frozen=True, slots=True)
class EventRule:
    """An EventBridge rule matching `account` (one of `accounts`), with an SQS target: how a
    central bus routes each shard's accounts to that shard's queue."""

    accounts: frozenset[str]
    target: EventTarget


@dataclass(slots=True)
class Store:
    """Every record of the fake, guarded by `lock`; see the module docstring."""

    region: str
    home: str
    config: FakeConfig = field(default_factory=FakeConfig)
    lock: threading.RLock = field(default_factory=threading.RLock)
    jobs: dict[str, BackupJob] = field(default_factory=dict)
    job_tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    recovery_points: dict[str, RecoveryPoint] = field(default_factory=dict)
    snapshots: dict[str, Any] = field(default_factory=dict)  # rp arn -> moto Backup
    restores: dict[str, RestoreJob] = field(default_factory=dict)
    restore_tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    notifications: dict[tuple[str, str], tuple[str, frozenset[str]]] = field(
        default_factory=dict)
    plans: dict[str, Plan] = field(default_factory=dict)
    plan_versions: dict[str, list[PlanVersion]] = field(default_factory=dict)  # earlier ones
    selections: dict[str, BackupSelection] = field(default_factory=dict)  # by selection id
    target: EventTarget | None = None
    rules: list[EventRule] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    outbox: list[Callable[[], None]] = field(default_factory=list)
    delivered: int = 0
    delivery_errors: list[str] = field(default_factory=list)
    _deliver_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def account(self) -> str:
        """The caller's account (the stand-in's own outside a request)."""
        return caller(self.home)

    def clear(self) -> None:
        """Forget every record (moto's reset does the same to moto's side)."""
        with self.lock:
            for table in (self.jobs, self.job_tokens, self.recovery_points, self.snapshots,
                          self.restores, self.restore_tokens, self.notifications, self.plans,
                          self.plan_versions, self.selections):
                table.clear()
            self.target = None
            self.rules.clear()
            self.outbox.clear()
            self.rng.seed(self.config.seed)
            self.delivered = 0
            self.delivery_errors.clear()

    def take_plan(self, key: str) -> Plan:
        """The plan for `key` (consumed if `once`), else an empty plan."""
        plan = self.plans.get(key)
        if plan is None:
            return Plan()
        if plan.once:
            del self.plans[key]
        return plan

    def timetable(self, now: datetime, plan: Plan, failure_state: str = "FAILED") -> Timetable:
        """Decide once when a job runs and how it ends: plan first, then the seeded RNG."""
        cfg = self.config
        delay = plan.start_delay if plan.start_delay is not None else cfg.start_delay_seconds
        duration = plan.duration if plan.duration is not None else cfg.duration_seconds
        run_at = now + timedelta(seconds=delay)
        finish_at = None if duration == float("inf") else run_at + timedelta(seconds=duration)
        failed = self.rng.random() < cfg.failure_rate
        state = plan.state or (failure_state if failed else "COMPLETED")
        message = plan.status_message
        if message is None and state != "COMPLETED":
            message = "Injected failure by the local AWS stand-in."
        return Timetable(run_at, finish_at, state, message)

    @staticmethod
    def token_hit(tokens: dict[str, tuple[str, datetime]], token: str | None,
                  now: datetime, window: float) -> str | None:
        """Job id for an idempotency token still inside its window."""
        if not token or token not in tokens:
            return None
        job_id, at = tokens[token]
        return job_id if (now - at).total_seconds() < window else None

    # -- outbox --------------------------------------------------------------------------
    def post(self, send: Callable[[], None]) -> None:
        """Queue one delivery (call with `lock` held); `flush()` sends it later."""
        self.outbox.append(send)

    def flush(self) -> None:
        """Deliver queued messages in order, outside the state lock; never raises."""
        with self._deliver_lock:
            with self.lock:
                pending, self.outbox = self.outbox, []
            for send in pending:
                try:
                    send()
                except Exception as exc:  # a gone queue must not stop the clock
                    with self.lock:
                        self.delivery_errors.append(f"{type(exc).__name__}: {exc}")
                    log.debug("standin delivery failed: %s", exc)
                else:
                    with self.lock:
                        self.delivered += 1


def utcnow() -> datetime:
    return datetime.now(UTC)


def copy_job(job: BackupJob) -> BackupJob:
    """A detached copy for callers outside the lock."""
    return replace(job, timetable=replace(job.timetable),
                   recovery_point_tags=dict(job.recovery_point_tags))
