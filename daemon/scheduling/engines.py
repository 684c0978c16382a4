"""The two backup engines: how a backup is started and how "already done" is read from AWS.

- `dynamodb`: CreateBackup named `<prefix>-<schedule>-<YYYYMMDDHHMM>`; done = a backup with
  that name in ListBackups; followed to AVAILABLE with DescribeBackup and backoff.
- `aws-backup`: StartBackupJob with an IdempotencyToken of (schedule, table, slot), the
  vault, the role, `Lifecycle.DeleteAfterDays` = keep_days when that is the only rule, and
  recovery-point tags naming schedule and slot; done = such a job in ListBackupJobs. The
  event pipeline tracks the job from there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, Protocol

from daemon.aws.backups import list_native_backups
from daemon.aws.errors import error_code
from daemon.aws.throttle import Throttle
from daemon.config.schedules import ScheduleSpec
from daemon.core import arns
from daemon.core.clock import Clock, aware_time
from daemon.core.scheduling.inventory import (
    TAG_SCHEDULE,
    TAG_SLOT,
    Listed,
    job_slot,
    survivor,
)
from daemon.core.scheduling.planner import backup_name, idempotency_token
from daemon.kernel.supervisor import backoff_delay, sleep_or_stop
from daemon.scheduling.discovery import TableInfo

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_backup.type_defs import (
        ListBackupJobsInputTypeDef,
        StartBackupJobInputTypeDef,
    )
    from types_aiobotocore_dynamodb.client import DynamoDBClient

    from daemon.aws.session import Connect

LIST_MARGIN = timedelta(minutes=5)
FollowResult = Literal["AVAILABLE", "FAILED", "TIMEOUT", "STOPPED"]


@dataclass(frozen=True, slots=True)
class Started:
    """What a start returned: the backup (or job) and whether it is already complete."""

    table: str
    arn: str
    status: str
    created: datetime
    job_id: str | None = None


class Engine(Protocol):
    """How one kind of backup is made and found again."""

    kind: str

    async def existing(self, spec: ScheduleSpec, slot: datetime, since: datetime,
                       ) -> list[Listed]: ...

    async def start(self, spec: ScheduleSpec, table: TableInfo, slot: datetime) -> Started: ...

    async def latest_slot(self, spec: ScheduleSpec, since: datetime) -> datetime | None: ...


class NativeEngine:
    """DynamoDB on-demand backups (CreateBackup / ListBackups / DescribeBackup)."""

    kind = "dynamodb"

    def __init__(self, dynamodb: Connect[DynamoDBClient], throttle: Throttle, clock: Clock, *,
                 prefix: str, schedules: Iterable[str]) -> None:
        self._dynamodb = dynamodb
        self._throttle = throttle
        self._clock = clock
        self._prefix = prefix
        self._schedules = tuple(schedules)

    async def list_backups(self, since: datetime | None = None) -> list[Listed]:
        """Every USER backup (created since `since`), attributed to its schedule by name."""
        ddb = await self._dynamodb()
        return await list_native_backups(ddb, self._throttle, prefix=self._prefix,
                                         schedules=self._schedules, since=since)

    async def existing(self, spec: ScheduleSpec, slot: datetime, since: datetime,
                       ) -> list[Listed]:
        listed = await self.list_backups(since - LIST_MARGIN)
        return [b for b in listed if b.schedule == spec.name and b.slot == slot]

    async def kept(self, spec: ScheduleSpec, slot: datetime, table: str) -> Listed | None:
        """The backup of `table` the slot keeps (the earliest), read from AWS now."""
        ddb = await self._dynamodb()
        listed = await list_native_backups(ddb, self._throttle, prefix=self._prefix,
                                           schedules=self._schedules,
                                           since=slot - LIST_MARGIN, table=table)
        return survivor(b for b in listed
                        if b.schedule == spec.name and b.slot == slot and b.table == table)

    async def latest_slot(self, spec: ScheduleSpec, since: datetime) -> datetime | None:
        """The newest slot this schedule has a backup for, among those created since."""
        slots = [b.slot for b in await self.list_backups(since)
                 if b.schedule == spec.name and b.slot is not None]
        return max(slots, default=None)

    async def start(self, spec: ScheduleSpec, table: TableInfo, slot: datetime) -> Started:
        ddb = await self._dynamodb()
        details = (await self._throttle.call(
            ddb.create_backup, TableName=table.name,
            BackupName=backup_name(self._prefix, spec.name, slot)))["BackupDetails"]
        return Started(table.name, details["BackupArn"], details.get("BackupStatus", "CREATING"),
                       aware_time(details.get("BackupCreationDateTime", self._clock.now())))

    async def delete(self, arn: str) -> bool:
        """DeleteBackup; False when the backup is gone already or still in use (CREATING)."""
        ddb = await self._dynamodb()
        try:
            await self._throttle.call(ddb.delete_backup, BackupArn=arn)
        except Exception as exc:
            if error_code(exc) in {"BackupNotFoundException", "BackupInUseException"}:
                return False
            raise
        return True

    async def follow(self, arn: str, stop: asyncio.Event, limit_seconds: float) -> FollowResult:
        """DescribeBackup with backoff until AVAILABLE, gone, the timeout, or shutdown."""
        ddb = await self._dynamodb()
        deadline = asyncio.get_running_loop().time() + limit_seconds
        attempt = 0
        while asyncio.get_running_loop().time() < deadline:
            try:
                described = await self._throttle.call(ddb.describe_backup, BackupArn=arn)
            except Exception as exc:
                if error_code(exc) == "BackupNotFoundException":
                    return "FAILED"
                described = None
            if described is not None:
                status = described["BackupDescription"]["BackupDetails"]["BackupStatus"]
                if status != "CREATING":
                    return "AVAILABLE" if status == "AVAILABLE" else "FAILED"
            attempt += 1
            if await sleep_or_stop(1.0 + backoff_delay(attempt, base=2.0, cap=60.0), stop):
                return "STOPPED"
        return "TIMEOUT"


class AwsBackupEngine:
    """AWS Backup on-demand jobs (StartBackupJob / ListBackupJobs)."""

    kind = "aws-backup"

    def __init__(self, backup: Connect[BackupClient], throttle: Throttle, clock: Clock) -> None:
        self._backup = backup
        self._throttle = throttle
        self._clock = clock

    async def existing(self, spec: ScheduleSpec, slot: datetime, since: datetime,
                       ) -> list[Listed]:
        """On-demand jobs of this schedule's role into its vault, attributed to their slot."""
        kwargs: ListBackupJobsInputTypeDef = {"ByBackupVaultName": spec.vault_and_role()[0],
                                              "ByResourceType": "DynamoDB",
                                              "ByCreatedAfter": since - LIST_MARGIN}
        return [job for job in await self._jobs(spec, kwargs) if job.slot == slot]

    async def latest_slot(self, spec: ScheduleSpec, since: datetime) -> datetime | None:
        kwargs: ListBackupJobsInputTypeDef = {"ByBackupVaultName": spec.vault_and_role()[0],
                                              "ByResourceType": "DynamoDB", "ByCreatedAfter": since}
        slots = [job.slot for job in await self._jobs(spec, kwargs) if job.slot is not None]
        return max(slots, default=None)

    async def _jobs(self, spec: ScheduleSpec, kwargs: ListBackupJobsInputTypeDef) -> list[Listed]:
        backup = await self._backup()
        expression = spec.parsed()
        found: list[Listed] = []
        while True:
            page = await self._throttle.call(backup.list_backup_jobs, **kwargs)
            for job in page.get("BackupJobs", []):
                if job.get("IamRoleArn") != spec.iam_role_arn or (job.get("CreatedBy") or {}):
                    continue
                created = aware_time(job["CreationDate"])
                table = arns.table_name(job["ResourceArn"]) or job["ResourceArn"]
                found.append(Listed(table, job["BackupJobId"], created,
                                    job.get("State", "CREATED"), spec.name,
                                    job_slot(expression, created)))
            token = page.get("NextToken")
            if not token:
                return found
            kwargs["NextToken"] = token

    async def start(self, spec: ScheduleSpec, table: TableInfo, slot: datetime) -> Started:
        if table.arn is None:
            raise LookupError(f"table {table.name} has no known ARN yet")
        backup = await self._backup()
        vault, role = spec.vault_and_role()
        kwargs: StartBackupJobInputTypeDef = {
            "BackupVaultName": vault, "ResourceArn": table.arn, "IamRoleArn": role,
            "IdempotencyToken": idempotency_token(spec.name, table.name, slot),
            "StartWindowMinutes": spec.start_window_minutes,
            "RecoveryPointTags": {TAG_SCHEDULE: spec.name,
                                  TAG_SLOT: slot.astimezone(UTC).isoformat()},
        }
        if spec.complete_window_minutes:
            kwargs["CompleteWindowMinutes"] = spec.complete_window_minutes
        keep_days = spec.retention.keep_days
        if keep_days is not None and spec.retention.only_keep_days():
            kwargs["Lifecycle"] = {"DeleteAfterDays": keep_days}
        out = await self._throttle.call(backup.start_backup_job, **kwargs)
        return Started(table.name, out.get("RecoveryPointArn") or out["BackupJobId"], "CREATED",
                       aware_time(out.get("CreationDate", self._clock.now())),
                       job_id=out["BackupJobId"])

