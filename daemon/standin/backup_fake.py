"""`BackupFake`: the AWS Backup job APIs moto lacks, and the control object tests and the demo use.

It answers the HTTP calls routed to it by `daemon.standin.api`, moves jobs through
CREATED -> RUNNING -> COMPLETED/FAILED on a background clock thread, leaves recovery points
behind, and reports every state change like an EventBridge rule with an SQS target
(`set_event_target`) and like vault notifications (`PutBackupVaultNotifications`). Tests
steer it (`plan`, `inject_job`, `finish`, `configure`) and read its truth (`jobs()`).
"""

from __future__ import annotations

import threading
from dataclasses import fields, replace
from datetime import datetime
from typing import Any

from daemon.standin.backup_jobs import BackupJobs, owner
from daemon.standin.backup_plans import BackupPlans
from daemon.standin.emitter import Emitter
from daemon.standin.models import BackupJob, RecoveryPoint, RestoreJob
from daemon.standin.moto_bridge import MotoBridge
from daemon.standin.notifications import VaultNotifications
from daemon.standin.recovery_points import RecoveryPoints
from daemon.standin.restore_jobs import RestoreJobs
from daemon.standin.store import EventRule, EventTarget, FakeConfig, Plan, Store, copy_job, utcnow

DEFAULT_ROLE = "arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole"


class BackupFake:
    """The AWS Backup fake of one stand-in: its own account (the caller's) and the member
    accounts of its Organization whose jobs it is given; records are kept per region."""

    def __init__(self, region: str = "us-east-1", config: FakeConfig | None = None,
                 bridge: MotoBridge | None = None) -> None:
        self.bridge = bridge or MotoBridge()
        self.store = Store(region=region, home=self.bridge.home,
                           config=config or FakeConfig())
        self.store.rng.seed(self.store.config.seed)
        emitter = Emitter(self.store, self.bridge)
        self.points = RecoveryPoints(self.store, self.bridge)
        self.backups = BackupJobs(self.store, self.bridge, emitter, self.points)
        self.restores = RestoreJobs(self.store, self.bridge, emitter, self.points)
        self.notifications = VaultNotifications(self.store, self.bridge)
        self.backup_plans = BackupPlans(self.store, self.bridge)
        self._emitter = emitter
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def region(self) -> str:
        return self.store.region

    @property
    def account(self) -> str:
        """The stand-in's own account (the caller's without an assumed role)."""
        return self.store.home

    # -- clock ---------------------------------------------------------------------------
    def start_clock(self) -> None:
        """Start the background thread that moves jobs along (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="standin-clock", daemon=True)
            self._thread.start()

    def stop_clock(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.store.config.tick_seconds):
            self.tick()

    def tick(self, now: datetime | None = None) -> None:
        """One clock step: every job whose time has come changes state; events go out."""
        now = now or utcnow()
        with self.store.lock:
            self.backups.advance_all(now)
            self.restores.advance_all(now)
        self.store.flush()

    # -- configuration and plans ---------------------------------------------------------
    def configure(self, **changes: Any) -> FakeConfig:
        """Change defaults (`duration_seconds`, `failure_rate`, `seed`, ...); returns them."""
        known = {f.name for f in fields(FakeConfig)}
        if unknown := set(changes) - known:
            raise TypeError(f"unknown setting(s): {sorted(unknown)}")
        with self.store.lock:
            self.store.config = replace(self.store.config, **changes)
            if "seed" in changes:
                self.store.rng.seed(changes["seed"])
            return self.store.config

    def plan(self, arn: str, *, state: str | None = None, size_bytes: int | None = None,
             duration: float | None = None, start_delay: float | None = None,
             status_message: str | None = None, once: bool = False) -> None:
        """How the next jobs of resource `arn` (or restores of recovery point `arn`) end.

        `duration=float("inf")` keeps them RUNNING until `finish(job_id)`.
        """
        with self.store.lock:
            self.store.plans[arn] = Plan(state, size_bytes, duration, start_delay,
                                         status_message, once)

    def clear_plans(self) -> None:
        with self.store.lock:
            self.store.plans.clear()

    def set_table_size(self, table: str, size_bytes: int | None,
                       region: str | None = None) -> None:
        """What `DescribeTable` reports as `TableSizeBytes` and jobs use as default size."""
        self.bridge.set_table_size(region or self.region, table, size_bytes)

    # -- events --------------------------------------------------------------------------
    def set_event_target(self, queue_url: str, *, sns_wrapped: bool = False,
                         topic_arn: str | None = None) -> None:
        """Send every state change to `queue_url` (optionally in an SNS envelope)."""
        with self.store.lock:
            self.store.target = EventTarget(queue_url, sns_wrapped, topic_arn)

    def add_event_rule(self, queue_url: str, accounts: list[str] | set[str]) -> None:
        """Also send the events of `accounts` to `queue_url`, as an EventBridge rule with an
        `account` pattern and an SQS target does (one per shard of an Organization)."""
        with self.store.lock:
            self.store.rules.append(EventRule(frozenset(accounts), EventTarget(queue_url)))

    def clear_event_target(self) -> None:
        """Stop every delivery: the target and the rules."""
        with self.store.lock:
            self.store.target = None
            self.store.rules.clear()

    def inject_event(self, event: dict[str, Any] | str) -> None:
        """Send any body to the event target as is (hostile or hand-made events)."""
        with self.store.lock:
            self._emitter.event(event)
        self.store.flush()

    @property
    def events_delivered(self) -> int:
        return self.store.delivered

    @property
    def delivery_errors(self) -> list[str]:
        with self.store.lock:
            return list(self.store.delivery_errors)

    # -- jobs ----------------------------------------------------------------------------
    def inject_job(self, resource_arn: str, vault_name: str = "Default", *,
                   state: str = "CREATED", size_bytes: int | None = None,
                   duration: float | None = None, final_state: str | None = None,
                   iam_role_arn: str | None = None, created_by: dict[str, str] | None = None,
                   recovery_point_tags: dict[str, str] | None = None,
                   region: str | None = None) -> BackupJob:
        """A job that AWS Backup started by itself (a plan's wave), in `state`.

        Open jobs then progress on the clock (`duration`, `final_state`); terminal ones
        end at once. Its events are emitted as for any job. A resource ARN of another
        account makes a member account's job: that account's, in its vault of that name.
        """
        account = owner(resource_arn, self.account)
        body = {"BackupVaultName": vault_name, "ResourceArn": resource_arn,
                "IamRoleArn": iam_role_arn or DEFAULT_ROLE.format(account=account),
                "CreatedBy": created_by, "RecoveryPointTags": recovery_point_tags or {}}
        plan = Plan(state=final_state, size_bytes=size_bytes, duration=duration)
        return self.backups.inject(region or self.region, body, state, utcnow(), plan)

    def finish(self, job_id: str, state: str = "COMPLETED", *, size_bytes: int | None = None,
               status_message: str | None = None) -> None:
        """End an open backup or restore job now, in `state`."""
        now = utcnow()
        with self.store.lock:
            if job_id in self.store.restores:
                self.restores.finish(job_id, state, now, status_message)
            else:
                self.backups.finish(job_id, state, now, size_bytes, status_message)
        self.store.flush()

    def jobs(self, *, state: str | None = None) -> list[BackupJob]:
        """The truth: a snapshot of every backup job (copies), oldest first."""
        with self.store.lock:
            return [copy_job(j) for j in self.store.jobs.values()
                    if state is None or j.state == state]

    def job(self, job_id: str) -> BackupJob:
        with self.store.lock:
            return copy_job(self.store.jobs[job_id])

    def restore_jobs(self) -> list[RestoreJob]:
        with self.store.lock:
            return [replace(j, timetable=replace(j.timetable))
                    for j in self.store.restores.values()]

    def recovery_points(self) -> list[RecoveryPoint]:
        with self.store.lock:
            return [replace(rp) for rp in self.store.recovery_points.values()]

    def reset(self) -> None:
        """Forget every job, recovery point, plan, target and size (keeps configuration)."""
        self.store.clear()
        self.bridge.clear_sizes()
