"""Recovery points: made by completed backup jobs; listed, described and deleted like AWS Backup.

A DynamoDB recovery point keeps a moto snapshot of the table (key schema and items) so a
restore job can recreate the table. With `native_dynamodb_arns` the snapshot is also
registered in moto's DynamoDB backups, so the ARN is a real `...:table/T/backup/ID` that
`RestoreTableFromBackup` and `DeleteBackup` accept. Recovery point tags are kept in moto's
Backup tagger, so `ListTags`/`TagResource` answer for them unchanged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from daemon.standin import arns
from daemon.standin.models import BackupJob, RecoveryPoint
from daemon.standin.moto_bridge import MotoBridge
from daemon.standin.protocol import ApiRequest, not_found, paginate, parse_timestamp
from daemon.standin.store import Store, acting_as


class RecoveryPoints:
    """The recovery point half of the fake; public methods take the store's lock."""

    def __init__(self, store: Store, bridge: MotoBridge) -> None:
        self._store = store
        self._bridge = bridge

    def create_for(self, job: BackupJob, now: datetime) -> RecoveryPoint:
        """The recovery point a COMPLETED job leaves in its vault, in the job's account (lock
        held by the caller). A member's job whose table or vault moto lacks (injected) leaves
        the fake's record alone."""
        with acting_as(job.account):
            return self._create(job, now)

    def _create(self, job: BackupJob, now: datetime) -> RecoveryPoint:
        st, region = self._store, job.region
        table = arns.dynamodb_table_name(job.resource_arn)
        snapshot = self._bridge.snapshot_table(region, table) if table else None
        arn = job.recovery_point_arn
        if job.resource_type in {"RDS", "Aurora"}:
            arn = self._bridge.rds_snapshot(region, job.resource_arn, job.job_id) or arn
        if arn is None and snapshot is not None:
            arn = self._bridge.register_native_backup(region, snapshot)
        if arn is None:  # a native-ARN job whose table vanished: fall back to AWS Backup's form
            arn = arns.recovery_point_arn(region, st.account, job.job_id.lower())
        rp = RecoveryPoint(
            arn=arn, account=st.account, region=region, vault_name=job.vault_name,
            vault_arn=job.vault_arn, resource_arn=job.resource_arn,
            resource_type=job.resource_type, iam_role_arn=job.iam_role_arn,
            creation_date=job.creation_date, completion_date=now, size_bytes=job.size_bytes,
            backup_job_id=job.job_id, lifecycle=job.lifecycle, created_by=job.created_by,
            resource_name=job.resource_name,
        )
        st.recovery_points[arn] = rp
        if snapshot is not None:
            st.snapshots[arn] = snapshot
        self._bridge.tag_recovery_point(region, arn, job.recovery_point_tags)
        self._bridge.count_recovery_point(region, job.vault_name, +1)
        return rp

    def get(self, arn: str) -> RecoveryPoint | None:
        with self._store.lock:
            return self._store.recovery_points.get(arn)

    def snapshot(self, arn: str) -> Any:
        with self._store.lock:
            return self._store.snapshots.get(arn)

    def list_by_vault(self, req: ApiRequest) -> dict[str, Any]:
        """ListRecoveryPointsByBackupVault with its filters and pagination."""
        vault = req.labels["backupVaultName"]
        if self._bridge.vault_arn(req.region, vault) is None:
            raise not_found(f"Backup vault {vault} does not exist.")
        points = [rp for rp in self._in_region(req.region) if rp.vault_name == vault]
        points = _filter(points, req.query)
        page, token = paginate(points, req.query)
        return {"RecoveryPoints": [rp.to_api() for rp in page], "NextToken": token}

    def list_by_resource(self, req: ApiRequest) -> dict[str, Any]:
        """ListRecoveryPointsByResource (pagination; AWS's `BackupSizeBytes` member)."""
        resource = req.labels["resourceArn"]
        points = [rp for rp in self._in_region(req.region) if rp.resource_arn == resource]
        page, token = paginate(points, req.query)
        return {"RecoveryPoints": [rp.to_api_by_resource() for rp in page], "NextToken": token}

    def describe(self, req: ApiRequest) -> dict[str, Any]:
        return self._find(req).to_api()

    def delete(self, req: ApiRequest) -> None:
        """DeleteRecoveryPoint: gone from the vault, its moto backup and tags too."""
        rp = self._find(req)
        with self._store.lock:
            if self._store.recovery_points.pop(rp.arn, None) is None:
                raise not_found(f"Recovery point {rp.arn} not found.")
            self._store.snapshots.pop(rp.arn, None)
        if arns.is_native_dynamodb_backup(rp.arn):
            self._bridge.drop_native_backup(rp.region, rp.arn)
        self._bridge.untag_all(rp.region, rp.arn)
        self._bridge.count_recovery_point(rp.region, rp.vault_name, -1)

    def _find(self, req: ApiRequest) -> RecoveryPoint:
        vault, arn = req.labels["backupVaultName"], req.labels["recoveryPointArn"]
        with self._store.lock:
            rp = self._store.recovery_points.get(arn)
        if rp is None or rp.vault_name != vault or rp.region != req.region \
                or rp.account != self._store.account:
            raise not_found(f"Recovery point {arn} not found in backup vault {vault}.")
        return rp

    def _in_region(self, region: str) -> list[RecoveryPoint]:
        with self._store.lock:
            points = [rp for rp in self._store.recovery_points.values()
                      if rp.region == region and rp.account == self._store.account]
        return sorted(points, key=lambda rp: rp.creation_date, reverse=True)


def _filter(points: list[RecoveryPoint], query: dict[str, str]) -> list[RecoveryPoint]:
    if arn := query.get("resourceArn"):
        points = [rp for rp in points if rp.resource_arn == arn]
    if kind := query.get("resourceType"):
        points = [rp for rp in points if rp.resource_type == kind]
    if plan_id := query.get("backupPlanId"):
        points = [rp for rp in points if (rp.created_by or {}).get("BackupPlanId") == plan_id]
    if after := query.get("createdAfter"):
        points = [rp for rp in points if rp.creation_date >= parse_timestamp(after)]
    if before := query.get("createdBefore"):
        points = [rp for rp in points if rp.creation_date <= parse_timestamp(before)]
    return points
