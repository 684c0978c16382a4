"""Vault notifications: Put/Get/DeleteBackupVaultNotifications, which moto does not implement.

The configuration is kept in the fake's store; the emitter reads it on every job state
change and publishes AWS Backup's plain-text notification to the topic through moto's SNS.
"""

from __future__ import annotations

from typing import Any

from daemon.standin.moto_bridge import MotoBridge
from daemon.standin.protocol import ApiRequest, invalid_parameter, missing_parameter, not_found
from daemon.standin.store import Store

VAULT_EVENTS = frozenset({
    "BACKUP_JOB_STARTED", "BACKUP_JOB_COMPLETED", "BACKUP_JOB_SUCCESSFUL", "BACKUP_JOB_FAILED",
    "BACKUP_JOB_EXPIRED", "RESTORE_JOB_STARTED", "RESTORE_JOB_COMPLETED",
    "RESTORE_JOB_SUCCESSFUL", "RESTORE_JOB_FAILED", "COPY_JOB_STARTED", "COPY_JOB_SUCCESSFUL",
    "COPY_JOB_FAILED", "RECOVERY_POINT_MODIFIED", "BACKUP_PLAN_CREATED", "BACKUP_PLAN_MODIFIED",
    "S3_BACKUP_OBJECT_FAILED", "S3_RESTORE_OBJECT_FAILED", "CONTINUOUS_BACKUP_INTERRUPTED",
    "RECOVERY_POINT_INDEX_COMPLETED", "RECOVERY_POINT_INDEX_DELETED",
    "RECOVERY_POINT_INDEXING_FAILED",
})


class VaultNotifications:
    """The three notification-configuration calls of one vault."""

    def __init__(self, store: Store, bridge: MotoBridge) -> None:
        self._store = store
        self._bridge = bridge

    def put(self, req: ApiRequest) -> None:
        self._vault(req)
        topic, wanted = req.require("SNSTopicArn"), req.body.get("BackupVaultEvents")
        if wanted is None:
            raise missing_parameter("BackupVaultEvents")
        unknown = set(wanted) - VAULT_EVENTS
        if unknown or not isinstance(wanted, list):
            raise invalid_parameter(f"Invalid BackupVaultEvents: {sorted(unknown)}")
        if not self._bridge.topic_exists(topic):
            raise invalid_parameter(f"SNS topic {topic} does not exist.")
        with self._store.lock:
            self._store.notifications[(req.region, req.labels["backupVaultName"])] = (
                topic, frozenset(wanted))

    def get(self, req: ApiRequest) -> dict[str, Any]:
        vault_arn = self._vault(req)
        with self._store.lock:
            entry = self._store.notifications.get((req.region, req.labels["backupVaultName"]))
        if entry is None:
            raise not_found(f"Backup vault {req.labels['backupVaultName']} has no "
                            "notification configuration.")
        return {"BackupVaultName": req.labels["backupVaultName"], "BackupVaultArn": vault_arn,
                "SNSTopicArn": entry[0], "BackupVaultEvents": sorted(entry[1])}

    def delete(self, req: ApiRequest) -> None:
        self._vault(req)
        with self._store.lock:
            self._store.notifications.pop((req.region, req.labels["backupVaultName"]), None)

    def _vault(self, req: ApiRequest) -> str:
        name = req.labels["backupVaultName"]
        arn = self._bridge.vault_arn(req.region, name)
        if arn is None:
            raise not_found(f"Backup vault {name} does not exist.")
        return arn
