"""Restore jobs: StartRestoreJob, DescribeRestoreJob, ListRestoreJobs, and their clock.

A DynamoDB restore needs `Metadata.targetTableName`; when the job completes the table is
created in moto's DynamoDB (key schema and items of the recovery point's snapshot) and its
ARN becomes `CreatedResourceArn`. If the target exists by then, the job FAILS, as AWS does.
Plans for restores are keyed by the recovery point ARN (`fake.plan(rp_arn, state="FAILED")`).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from daemon.standin import arns
from daemon.standin.emitter import Emitter
from daemon.standin.models import RestoreJob
from daemon.standin.moto_bridge import MotoBridge
from daemon.standin.protocol import (
    ApiRequest,
    invalid_parameter,
    missing_parameter,
    not_found,
    paginate,
    parse_timestamp,
)
from daemon.standin.recovery_points import RecoveryPoints
from daemon.standin.store import Store, acting_as


class RestoreJobs:
    """The restore job half of the fake; public methods take the store's lock."""

    def __init__(self, store: Store, bridge: MotoBridge, emitter: Emitter,
                 points: RecoveryPoints) -> None:
        self._store = store
        self._bridge = bridge
        self._emit = emitter
        self._points = points

    def start(self, region: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        """StartRestoreJob: validate, honour the idempotency token, create a PENDING job."""
        rp_arn, metadata = body.get("RecoveryPointArn"), body.get("Metadata")
        if not rp_arn:
            raise missing_parameter("RecoveryPointArn")
        if metadata is None:
            raise missing_parameter("Metadata")
        st = self._store
        with st.lock:
            token = body.get("IdempotencyToken")
            hit = st.token_hit(st.restore_tokens, token, now, st.config.idempotency_seconds)
            if hit is not None:
                return {"RestoreJobId": hit}
            rp = self._points.get(rp_arn)
            if rp is None or rp.region != region:
                raise not_found(f"Recovery point {rp_arn} not found.")
            if rp.resource_type == "DynamoDB" and not metadata.get("targetTableName"):
                raise invalid_parameter("Metadata must contain targetTableName for DynamoDB.")
            job = RestoreJob(
                job_id=str(uuid.uuid4()).upper(), account=st.account, region=region,
                recovery_point_arn=rp_arn, source_resource_arn=rp.resource_arn,
                vault_arn=rp.vault_arn, resource_type=body.get("ResourceType") or
                rp.resource_type, iam_role_arn=body.get("IamRoleArn"),
                metadata=dict(metadata), creation_date=now,
                timetable=st.timetable(now, st.take_plan(rp_arn)), size_bytes=rp.size_bytes,
                recovery_point_creation_date=rp.creation_date, idempotency_token=token,
            )
            st.restores[job.job_id] = job
            if token:
                st.restore_tokens[token] = (job.job_id, now)
            self._emit.restore_changed(job, rp.vault_name, now)
            return {"RestoreJobId": job.job_id}

    def describe(self, job_id: str) -> dict[str, Any]:
        with self._store.lock:
            job = self._store.restores.get(job_id)
            if job is None:
                raise not_found(f"Cannot find restore job with id {job_id}.")
            return job.to_api()

    def list(self, req: ApiRequest) -> dict[str, Any]:
        """ListRestoreJobs with AWS's filters, newest first, paginated."""
        with self._store.lock:
            jobs = [j.to_api() for j in self._store.restores.values() if j.region == req.region]
        jobs.sort(key=lambda j: j["CreationDate"], reverse=True)
        q = req.query
        if status := q.get("status"):
            jobs = [j for j in jobs if j["Status"] == status]
        if kind := q.get("resourceType"):
            jobs = [j for j in jobs if j["ResourceType"] == kind]
        if after := q.get("createdAfter"):
            jobs = [j for j in jobs if j["CreationDate"] >= parse_timestamp(after)]
        if before := q.get("createdBefore"):
            jobs = [j for j in jobs if j["CreationDate"] <= parse_timestamp(before)]
        page, token = paginate(jobs, q)
        return {"RestoreJobs": page, "NextToken": token}

    def finish(self, job_id: str, state: str, now: datetime, message: str | None) -> None:
        """End an open restore now (lock held by the caller)."""
        job = self._store.restores[job_id]
        if job.terminal:
            raise ValueError(f"restore job {job_id} is already {job.status}")
        tt = job.timetable
        tt.final_state, tt.finish_at, tt.status_message = state, now, message
        tt.run_at = min(tt.run_at, now)
        with acting_as(job.account):
            self.advance(job, now)

    def advance_all(self, now: datetime) -> None:
        """One clock step for every open restore, each in its account (its tables)."""
        for job in list(self._store.restores.values()):
            if not job.terminal:
                with acting_as(job.account):
                    self.advance(job, now)

    def advance(self, job: RestoreJob, now: datetime) -> None:
        tt, vault = job.timetable, self._vault_name(job)
        if job.status == "PENDING" and now >= tt.run_at:
            job.status = "RUNNING"
            self._emit.restore_changed(job, vault, now)
        if job.status == "RUNNING" and tt.finish_at is not None and now >= tt.finish_at:
            job.status, job.completion_date = tt.final_state, now
            if job.status == "COMPLETED":
                self._create_resource(job)
            if job.status != "COMPLETED":
                job.status_message = tt.status_message
            self._emit.restore_changed(job, vault, now)

    def _create_resource(self, job: RestoreJob) -> None:
        """Make the restored table; a clash or a missing snapshot fails the job."""
        snapshot = self._store.snapshots.get(job.recovery_point_arn)
        target = job.metadata.get("targetTableName")
        if job.resource_type != "DynamoDB" or not target:
            return
        if snapshot is None:
            job.status, job.timetable.status_message = "FAILED", "Recovery point has no data."
            return
        try:
            job.created_resource_arn = self._bridge.restore_table(
                job.region, snapshot, target, job.recovery_point_arn)
        except ValueError as exc:
            job.status, job.timetable.status_message = "FAILED", str(exc)

    def _vault_name(self, job: RestoreJob) -> str | None:
        return arns.resource_name(job.vault_arn) if job.vault_arn else None

