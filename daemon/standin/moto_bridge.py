"""In-process access to moto's backends: the one place the fake touches moto's internals.

The fake lives in the same process as moto's server, so it reads vaults and tables and
delivers SQS/SNS messages through moto's backend objects directly (as an EventBridge target
would), not over HTTP. Backends are looked up on every call, never cached: `POST
/moto-api/reset` replaces them.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.backup.models import backup_backends
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.table import Backup, RestoredTable
from moto.sns.models import sns_backends
from moto.sqs.models import sqs_backends

from daemon.standin import arns
from daemon.standin.store import caller

ACCOUNT = DEFAULT_ACCOUNT_ID


class MotoBridge:
    """Reads and writes moto's state for the fake; also holds table size overrides.

    moto reports `TableSizeBytes: 0` for every table; real DynamoDB reports a size. The bridge
    answers with a configured size, else the sum of the items' sizes, so both the fake's job
    sizes and `DescribeTable` (patched by the server) tell the same, non-zero story.
    """

    def __init__(self, account: str = ACCOUNT) -> None:
        self.home = account
        self._sizes: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    @property
    def account(self) -> str:
        """Whose tables, vaults, plans and tags: the caller's (`store.acting_as`); queues
        and topics (event targets) are the stand-in's own (`home`)."""
        return caller(self.home)

    # -- vaults -------------------------------------------------------------------------
    def vault_arn(self, region: str, name: str) -> str | None:
        """ARN of the vault `name` created with moto's CreateBackupVault, or None."""
        vault = backup_backends[self.account][region].vaults.get(name)
        return None if vault is None else str(vault.backup_vault_arn)

    def tag_recovery_point(self, region: str, arn: str, tags: dict[str, str]) -> None:
        """Tags live in moto's Backup tagger, so ListTags/TagResource work unchanged."""
        if tags:
            backend = backup_backends[self.account][region]
            backend.tagger.tag_resource(arn, [{"Key": k, "Value": v} for k, v in tags.items()])

    def untag_all(self, region: str, arn: str) -> None:
        backup_backends[self.account][region].tagger.delete_all_tags_for_resource(arn)

    # -- backup plans (moto keeps the current version; the fake, earlier ones) -----------
    def backup_plan(self, region: str, plan_id: str) -> Any:
        """moto's record of a backup plan (deleted ones too), or None."""
        return backup_backends[self.account][region].plans.get(plan_id)

    def replace_backup_plan(self, region: str, plan_id: str, document: dict[str, Any],
                            version_id: str, created: float) -> None:
        """Make `document` the plan's current version (what UpdateBackupPlan does)."""
        plan = backup_backends[self.account][region].plans[plan_id]
        plan.backup_plan = document
        plan.version_id = version_id
        plan.creation_date = created
        plan.advanced_backup_settings = document.get("AdvancedBackupSettings") or []

    def delete_backup_plan(self, region: str, plan_id: str) -> float:
        """moto's DeleteBackupPlan; returns the deletion time (epoch seconds)."""
        return float(backup_backends[self.account][region].delete_backup_plan(plan_id)[2])

    def count_recovery_point(self, region: str, vault_name: str, delta: int) -> None:
        """Keep moto's `NumberOfRecoveryPoints` of the vault in step with the fake."""
        vault = backup_backends[self.account][region].vaults.get(vault_name)
        if vault is not None:
            vault.num_of_recovery_points = max(0, vault.num_of_recovery_points + delta)

    # -- tables -------------------------------------------------------------------------
    def _table(self, region: str, name: str) -> Any:
        return dynamodb_backends[self.account][region].tables.get(name)

    def table_exists(self, region: str, name: str) -> bool:
        return self._table(region, name) is not None

    def set_table_size(self, region: str, name: str, size_bytes: int | None) -> None:
        """Make `TableSizeBytes` (and default job sizes) report `size_bytes` for a table."""
        with self._lock:
            if size_bytes is None:
                self._sizes.pop((region, name), None)
            else:
                self._sizes[(region, name)] = size_bytes

    def table_size_bytes(self, region: str, name: str) -> int | None:
        """Configured size, else the items' size; None when the table does not exist."""
        with self._lock:
            if (region, name) in self._sizes:
                return self._sizes[(region, name)]
        table = self._table(region, name)
        if table is None:
            return None
        for _ in range(3):  # moto's item dicts may change under a concurrent write: retry
            try:
                return int(sum(item.size() for item in table.all_items()))
            except RuntimeError:
                continue
        return 0

    def clear_sizes(self) -> None:
        with self._lock:
            self._sizes.clear()

    def snapshot_table(self, region: str, name: str) -> Any:
        """A moto `Backup` object (a deep copy of schema and items) of the table, unregistered."""
        table = self._table(region, name)
        return None if table is None else Backup(self.account, region, f"awsbackup-{name}", table)

    def register_native_backup(self, region: str, snapshot: Any) -> str:
        """Put a snapshot into moto's DynamoDB backups; its ARN then works with native APIs."""
        backend = dynamodb_backends[self.account][region]
        backend.backups[snapshot.arn] = snapshot
        return str(snapshot.arn)

    def drop_native_backup(self, region: str, arn: str) -> None:
        dynamodb_backends[self.account][region].backups.pop(arn, None)

    def restore_table(self, region: str, snapshot: Any, target: str, source_arn: str) -> str:
        """Create table `target` from a snapshot (key schema and items); returns its ARN."""
        backend = dynamodb_backends[self.account][region]
        if target in backend.tables:
            raise ValueError(f"Table already exists: {target}")
        table = RestoredTable(  # type: ignore[abstract]
            target, account_id=self.account, region=region, backup=copy.copy(snapshot))
        table.source_backup_arn = source_arn
        backend.tables[target] = table
        return str(table.table_arn)

    # -- RDS ------------------------------------------------------------------------------
    def rds_snapshot(self, region: str, resource_arn: str, job_id: str) -> str | None:
        """Snapshot an RDS instance or Aurora cluster as AWS Backup does, if moto has it.

        AWS Backup names them `awsbackup:job-<id>`; the snapshot ARN is the recovery point
        ARN, and `StartExportTask` accepts it. None when moto has no such database.
        """
        from moto.rds.models import rds_backends  # noqa: PLC0415 - heavy; only RDS jobs need it

        _, _, _, resource = arns.parts(resource_arn)
        kind, _, ident = resource.partition(":")
        backend = rds_backends[self.account][region]
        snap_id = f"awsbackup:job-{job_id.lower()}"
        try:
            if kind == "db" and ident in backend.databases:
                snap = backend.create_db_snapshot(ident, snap_id, snapshot_type="awsbackup")
                return str(snap.db_snapshot_arn)
            if kind == "cluster" and ident in backend.clusters:
                csnap = backend.create_db_cluster_snapshot(ident, snap_id,
                                                           snapshot_type="awsbackup")
                return str(csnap.db_cluster_snapshot_arn)
        except Exception:  # quota or clash: fall back to AWS Backup's ARN form
            return None
        return None

    # -- messaging ----------------------------------------------------------------------
    def send_to_queue(self, queue_url: str, body: str, region: str) -> None:
        """Deliver one message to a queue given by URL (name is its last path segment)."""
        region = _queue_region(queue_url) or region
        name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        sqs_backends[self.home][region].send_message(name, body)

    def queue_exists(self, queue_url: str, region: str) -> bool:
        name = queue_url.rstrip("/").rsplit("/", 1)[-1]
        return name in sqs_backends[self.home][_queue_region(queue_url) or region].queues

    def publish(self, topic_arn: str, message: str, subject: str | None,
                attributes: dict[str, str]) -> None:
        """Publish through moto's SNS, so subscribed queues receive the notification."""
        region = arns.parts(topic_arn)[1]
        sns_backends[self.home][region].publish(
            message, arn=topic_arn, subject=subject,
            message_attributes={k: {"Type": "String", "Value": v}
                                for k, v in attributes.items()},
        )

    def topic_exists(self, topic_arn: str) -> bool:
        region = arns.parts(topic_arn)[1]
        return bool(region) and topic_arn in sns_backends[self.home][region].topics


def _queue_region(queue_url: str) -> str | None:
    """`us-east-1` of `https://sqs.us-east-1.amazonaws.com/...`; None for moto's local URLs."""
    host = queue_url.split("://", 1)[-1].split("/", 1)[0]
    labels = host.split(".")
    if len(labels) >= 3 and labels[0] == "sqs":
        return labels[1]
    return None
