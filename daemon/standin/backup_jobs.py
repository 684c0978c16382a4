"""Backup jobs: StartBackupJob, DescribeBackupJob, ListBackupJobs, StopBackupJob, and their clock.

Validation follows AWS Backup: required members, an existing vault (created with moto's
CreateBackupVault), a supported resource ARN, an IAM role ARN, a sane lifecycle. A DynamoDB
table that does not exist is not a synchronous error: the job is created and FAILS, as AWS
Backup reports it.

Several accounts: a job belongs to the account of its resource ARN (AWS Backup runs it there),
and its vault and recovery point ARNs carry that account. Every call acts as its caller's
account (`store.acting_as`: the stand-in's own, or a member's through its assumed role):
`StartBackupJob` takes a vault of the caller's and only the caller's own resources (AWS
Backup backs up a resource in its own account only), `ListBackupJobs` without `ByAccountId`
lists only the caller's jobs, `ByAccountId` one account's, and `*` every account's
(cross-account monitoring, from the Organization's management account); `DescribeBackupJob`
finds (and `StopBackupJob` stops) only the caller's own jobs. Jobs injected for a member
(`BackupFake.inject_job` with a member's resource ARN) need no moto records behind them: a
vault or table the member lacks in moto is not checked.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from daemon.standin import arns
from daemon.standin.emitter import Emitter
from daemon.standin.models import BACKUP_STATES, BACKUP_TERMINAL, BackupJob
from daemon.standin.moto_bridge import MotoBridge
from daemon.standin.protocol import (
    BackupApiError,
    invalid_parameter,
    invalid_request,
    missing_parameter,
    not_found,
)
from daemon.standin.recovery_points import RecoveryPoints
from daemon.standin.store import Plan, Store, acting_as, copy_job

DEFAULT_START_WINDOW = timedelta(hours=8)


class BackupJobs:
    """The backup job half of the fake; every public method takes the store's lock."""

    def __init__(self, store: Store, bridge: MotoBridge, emitter: Emitter,
                 points: RecoveryPoints) -> None:
        self._store = store
        self._bridge = bridge
        self._emit = emitter
        self._points = points

    def start(self, region: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        """StartBackupJob: validate, honour the idempotency token, create a CREATED job."""
        for name in ("BackupVaultName", "ResourceArn", "IamRoleArn"):
            if not body.get(name):
                raise missing_parameter(name)
        _validate(body)
        st = self._store
        with st.lock:
            token = body.get("IdempotencyToken")
            existing = st.token_hit(st.job_tokens, token, now, st.config.idempotency_seconds)
            if existing is not None:
                return _start_output(st.jobs[existing])
            if (account := owner(body["ResourceArn"], st.account)) != st.account:
                raise invalid_parameter(
                    f"Resource {body['ResourceArn']} belongs to account {account}, not to the "
                    f"caller's ({st.account}): AWS Backup backs up resources of the caller's "
                    "account only.")
            vault_arn = self._bridge.vault_arn(region, body["BackupVaultName"])
            if vault_arn is None:
                raise not_found(f"Backup vault {body['BackupVaultName']} does not exist.")
            job = self._new_job(region, vault_arn, body, now)
            if token:
                st.job_tokens[token] = (job.job_id, now)
            return _start_output(job)

    def inject(self, region: str, body: dict[str, Any], state: str, now: datetime,
               plan: Plan | None = None) -> BackupJob:
        """A job that appears as if AWS Backup (e.g. a backup plan) had started it."""
        if state not in BACKUP_STATES:
            raise ValueError(f"unknown backup job state {state!r}")
        st = self._store
        with st.lock:
            account = owner(body["ResourceArn"], st.account)
            vault_arn = (self._bridge.vault_arn(region, body["BackupVaultName"])
                         if account == st.account else None) or arns.vault_arn(
                region, account, body["BackupVaultName"])
            job = self._new_job(region, vault_arn, body, now, plan, emit=False)
            if state in BACKUP_TERMINAL:
                tt = job.timetable
                tt.final_state, tt.finish_at = state, now
                if state != "COMPLETED" and tt.status_message is None:
                    tt.status_message = "Injected failure by the local AWS stand-in."
            if state != "CREATED":
                self._jump(job, state, now)
            if job.terminal:
                self._finished(job, now)
            else:
                self._emit.backup_changed(job, now)
            out = copy_job(job)
        st.flush()
        return out

    def _new_job(self, region: str, vault_arn: str, body: dict[str, Any], now: datetime,
                 plan: Plan | None = None, *, emit: bool = True) -> BackupJob:
        st, resource = self._store, body["ResourceArn"]
        account = owner(resource, st.account)
        plan = plan if plan is not None else st.take_plan(resource)
        timetable = st.timetable(now, plan)
        table = arns.dynamodb_table_name(resource) if account == st.account else None
        if table is not None and not self._bridge.table_exists(region, table) and not plan.state:
            timetable.final_state = "FAILED"
            timetable.status_message = f"Resource {resource} not found."
        job = BackupJob(
            job_id=str(uuid.uuid4()).upper(), account=account, region=region,
            vault_name=body["BackupVaultName"], vault_arn=vault_arn, resource_arn=resource,
            resource_type=arns.resource_type(resource) or "DynamoDB",
            iam_role_arn=body["IamRoleArn"], creation_date=now,
            start_by=now + timedelta(minutes=int(body.get("StartWindowMinutes") or 480)),
            timetable=timetable, size_bytes=self._size(region, resource, plan),
            lifecycle=body.get("Lifecycle"),
            complete_window_minutes=_minutes(body.get("CompleteWindowMinutes")),
            recovery_point_tags=dict(body.get("RecoveryPointTags") or {}),
            created_by=body.get("CreatedBy"), idempotency_token=body.get("IdempotencyToken"),
            resource_name=arns.resource_name(resource),
        )
        native = (st.config.native_dynamodb_arns and table is not None) or \
            job.resource_type in {"RDS", "Aurora"}  # their ARN is the snapshot's, made at the end
        if not native:
            job.recovery_point_arn = arns.recovery_point_arn(region, account, str(uuid.uuid4()))
        st.jobs[job.job_id] = job
        if emit:
            self._emit.backup_changed(job, now)
        return job

    def _size(self, region: str, resource: str, plan: Plan) -> int:
        if plan.size_bytes is not None:
            return plan.size_bytes
        own = owner(resource, self._store.account) == self._store.account
        table = arns.dynamodb_table_name(resource) if own else None
        size = self._bridge.table_size_bytes(region, table) if table else None
        return size if size else self._store.config.default_size_bytes

    def describe(self, job_id: str, now: datetime, caller: str | None = None) -> dict[str, Any]:
        """DescribeBackupJob: a job of the `caller`'s account (None: the stand-in's own)."""
        with self._store.lock:
            job = self._store.jobs.get(job_id)
            if job is None or job.account != (caller or self._store.account):
                raise not_found(f"Cannot find backup job with id {job_id}.")
            return job.to_api(now)

    def listed(self, region: str, account: str | None = None) -> list[BackupJob]:
        """This region's jobs of `account` (None: the stand-in's own; `*`: every account's),
        newest first (copies; filtering happens outside the lock)."""
        st = self._store
        want = st.account if account is None else account
        with st.lock:
            jobs = [copy_job(j) for j in st.jobs.values()
                    if j.region == region and want in ("*", j.account)]
        return sorted(jobs, key=lambda j: j.creation_date, reverse=True)

    def stop(self, job_id: str, now: datetime, caller: str | None = None) -> None:
        """StopBackupJob of the `caller`'s job: ABORTING now, ABORTED at the next tick."""
        st = self._store
        with st.lock:
            job = st.jobs.get(job_id)
            if job is None or job.account != (caller or st.account):
                raise not_found(f"Cannot find backup job with id {job_id}.")
            if job.terminal or job.state == "ABORTING":
                raise invalid_request(f"Backup job {job_id} cannot be stopped in state "
                                      f"{job.state}.")
            job.state = "ABORTING"
            job.timetable.final_state, job.timetable.finish_at = "ABORTED", now
            job.timetable.status_message = "Backup job was stopped by user."
            self._emit.backup_changed(job, now)

    def finish(self, job_id: str, state: str, now: datetime, size_bytes: int | None,
               status_message: str | None) -> None:
        """End an open job now (the control object's way to settle a held job)."""
        with self._store.lock:
            job = self._store.jobs[job_id]
            if job.terminal:
                raise ValueError(f"job {job_id} is already {job.state}")
            if size_bytes is not None:
                job.size_bytes = size_bytes
            tt = job.timetable
            tt.final_state, tt.finish_at, tt.status_message = state, now, status_message
            if job.state != "RUNNING":
                self._jump(job, "RUNNING", now)
                self._emit.backup_changed(job, now)
            with acting_as(job.account):
                self.advance(job, now)

    def advance_all(self, now: datetime) -> None:
        """One clock step for every open job, each in its account (lock held by the caller)."""
        for job in list(self._store.jobs.values()):
            if not job.terminal:
                with acting_as(job.account):
                    self.advance(job, now)

    def advance(self, job: BackupJob, now: datetime) -> None:
        tt = job.timetable
        if job.state in {"CREATED", "PENDING"} and now >= tt.run_at:
            self._jump(job, "RUNNING", now)
            self._emit.backup_changed(job, now)
        if job.state in {"RUNNING", "ABORTING"} and tt.finish_at is not None \
                and now >= tt.finish_at:
            self._jump(job, tt.final_state, now)
            self._finished(job, now)

    def _jump(self, job: BackupJob, state: str, now: datetime) -> None:
        job.state = state
        if job.terminal:
            job.completion_date = now
            job.status_message = job.timetable.status_message if state != "COMPLETED" \
                else None

    def _finished(self, job: BackupJob, now: datetime) -> None:
        if job.state == "COMPLETED":
            rp = self._points.create_for(job, now)
            job.recovery_point_arn = rp.arn
            self._emit.backup_changed(job, now)
            self._emit.recovery_point_changed(rp, now)
        else:
            self._emit.backup_changed(job, now)


def owner(resource_arn: str, default: str) -> str:
    """The account a resource belongs to (its ARN's), else `default`."""
    return arns.parts(resource_arn)[2] or default


def _start_output(job: BackupJob) -> dict[str, Any]:
    return {"BackupJobId": job.job_id, "RecoveryPointArn": job.recovery_point_arn,
            "CreationDate": job.creation_date, "IsParent": False}


def _validate(body: dict[str, Any]) -> None:
    """The checks AWS makes before it creates a job."""
    resource = body["ResourceArn"]
    if arns.resource_type(resource) is None:
        raise invalid_parameter(f"Invalid ARN or unsupported resource type: {resource}")
    if not str(body["IamRoleArn"]).startswith("arn:aws:iam::"):
        raise invalid_parameter(f"Invalid IAM role ARN: {body['IamRoleArn']}")
    window = body.get("StartWindowMinutes")
    if window is not None and int(window) < 60:
        raise invalid_parameter("StartWindowMinutes must be at least 60 minutes.")
    validate_lifecycle(body.get("Lifecycle"))


def _minutes(value: Any) -> int | None:
    return None if value is None else int(value)


def validate_lifecycle(lifecycle: Any) -> None:
    """A `Lifecycle` member as AWS Backup checks it (jobs, plan rules, copy actions)."""
    if lifecycle is None:
        return
    if not isinstance(lifecycle, dict):
        raise BackupApiError("SerializationException", "Lifecycle must be an object")
    delete, cold = lifecycle.get("DeleteAfterDays"), lifecycle.get("MoveToColdStorageAfterDays")
    if delete is not None and int(delete) < 1:
        raise invalid_parameter("DeleteAfterDays must be at least 1.")
    if delete is not None and cold is not None and int(delete) - int(cold) < 90:
        raise invalid_parameter("DeleteAfterDays must be at least 90 days greater than "
                                "MoveToColdStorageAfterDays.")
