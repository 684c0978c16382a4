"""Validated wire models -> `JobEvent`: where each AWS shape keeps job id, state, vault, size.

The differences are AWS's, kept here so nothing downstream needs to know them: restore jobs
name no vault (only `backupVaultArn`, sometimes), copy jobs are counted against their
destination vault, a completed backup job names its recovery point only in `resources`.
"""

from __future__ import annotations

from datetime import datetime

from daemon.core.errors import DecodeError
from daemon.core.events import notifications as notices
from daemon.core.events.job import JobEvent, Source, timestamp
from daemon.core.events.models import (
    MAX_LONG,
    BackupJobEvent,
    CopyJobEvent,
    RecoveryPointEvent,
    RestoreJobEvent,
    SnsEnvelope,
    short,
)

AnyJobEvent = BackupJobEvent | RestoreJobEvent | CopyJobEvent | RecoveryPointEvent


def vault_of(arn: str | None) -> str | None:
    """The vault name of a backup vault ARN (`...:backup-vault:NAME`), else None."""
    if not arn or ":backup-vault:" not in arn:
        return None
    return arn.split(":backup-vault:", 1)[1] or None


def from_event(event: AnyJobEvent, source: Source) -> JobEvent:
    """One validated EventBridge job event as a JobEvent."""
    if isinstance(event, BackupJobEvent):
        return _backup(event, source)
    if isinstance(event, RestoreJobEvent):
        return _restore(event, source)
    if isinstance(event, CopyJobEvent):
        return _copy(event, source)
    return _recovery_point(event, source)


def _backup(event: BackupJobEvent, source: Source) -> JobEvent:
    d = event.detail
    recovery_point = d.recovery_point_arn
    if recovery_point is None and event.resources and d.state in ("COMPLETED", "PARTIAL"):
        recovery_point = event.resources[0]  # AWS names the new recovery point only here
    # Positional, in JobEvent's field order: the most frequent event, and a keyword call
    # costs three times as much (tests check every field of every fixture).
    return JobEvent(
        "backup_job", d.backup_job_id, d.state, d.resource_arn, d.resource_type,
        d.backup_vault_name or vault_of(d.backup_vault_arn), event.region, event.account,
        size_of(d.backup_size_in_bytes), timestamp(event.time, "time"), None, source,
        recovery_point, None, _maybe_utc(d.creation_date), d.status_message or None)


def _restore(event: RestoreJobEvent, source: Source) -> JobEvent:
    d = event.detail
    state = d.status or d.state
    if state is None:
        raise DecodeError("Restore Job State Change event: detail.status: field required")
    return JobEvent(
        kind="restore_job", job_id=d.restore_job_id, state=state,
        resource_arn=d.source_resource_arn, resource_type=d.resource_type,
        vault=vault_of(d.backup_vault_arn), region=event.region, account=event.account,
        size_bytes=size_of(d.backup_size_in_bytes), time=timestamp(event.time, "time"), source=source,
        recovery_point_arn=d.recovery_point_arn, created_resource_arn=d.created_resource_arn,
        creation_date=_maybe_utc(d.creation_date), status_message=d.status_message or None)


def _copy(event: CopyJobEvent, source: Source) -> JobEvent:
    d = event.detail
    time = timestamp(event.time, "time")
    if d.copy_job_id is None:
        return ignored(time, source, event.region, event.account,
                       "Copy Job State Change without copyJobId (AWS sends none with CREATED)")
    destination = d.destination_recovery_point_arn
    return JobEvent(
        kind="copy_job", job_id=d.copy_job_id, state=d.state, resource_arn=d.resource_arn,
        resource_type=d.resource_type, vault=vault_of(d.destination_backup_vault_arn),
        region=event.region, account=event.account, size_bytes=size_of(d.backup_size_in_bytes),
        time=time, source=source,
        recovery_point_arn=destination if isinstance(destination, str) else None,
        creation_date=_maybe_utc(d.creation_date), status_message=d.status_message or None)


def _recovery_point(event: RecoveryPointEvent, source: Source) -> JobEvent:
    d = event.detail
    state = d.status or d.state
    if state is None:
        raise DecodeError("Recovery Point State Change event: detail.status: field required")
    arn = d.recovery_point_arn or (event.resources[0] if event.resources else None)
    return JobEvent(
        kind="recovery_point", job_id=arn, state=state, resource_arn=d.resource_arn,
        resource_type=d.resource_type, vault=d.backup_vault_name or vault_of(d.backup_vault_arn),
        region=event.region, account=event.account, size_bytes=size_of(d.backup_size_in_bytes),
        time=timestamp(event.time, "time"), source=source, recovery_point_arn=arn,
        creation_date=_maybe_utc(d.creation_date), status_message=d.status_message or None)


def ignored(time: datetime, source: Source, region: str | None, account: str | None,
            reason: str) -> JobEvent:
    """An event understood and deliberately not acted on."""
    return JobEvent(kind="ignored", job_id=None, state=None, resource_arn=None,
                    resource_type=None, vault=None, region=region, account=account,
                    size_bytes=None, time=time, source=source, reason=reason)


def from_notice(envelope: SnsEnvelope) -> JobEvent:
    """An AWS Backup vault notification (plain text plus SNS message attributes)."""
    attrs = {name.lower(): str(attr.value) for name, attr in envelope.message_attributes.items()}
    return notice_event(envelope.message, attrs, envelope.topic_arn, envelope.timestamp)


def notice_event(message: str, attrs: dict[str, str], topic: str | None,
                 stamp: str | float | None) -> JobEvent:
    """A vault notification from its text, attributes (names in lower case), topic and time."""
    event_type = attrs.get("eventtype")
    kind = notices.kind_of(event_type, message)
    if kind is None:
        if event_type:
            return ignored(sns_time(stamp), "vault-notification", notices.arn_part(topic, 3),
                           notices.arn_part(topic, 4),
                           f"vault notification {short(event_type)} is not a job state change")
        raise DecodeError("SNS Message is neither JSON nor an AWS Backup vault notification "
                          "(no EventType attribute, no job id in the text)")
    try:
        notice = notices.parse(message, attrs, kind)
    except notices.NotificationError as exc:
        raise DecodeError(f"vault notification: {exc}") from None
    resource = notice.resource_arn
    region, account, resource_type = notices.resource_facts(resource)
    return JobEvent(
        kind=notice.kind, job_id=notice.job_id, state=notice.state,
        resource_arn=resource, resource_type=resource_type,
        vault=notice.vault,
        region=(region or notices.arn_part(notice.recovery_point_arn, 3)
                or notices.arn_part(topic, 3)),
        account=notice.account or account or notices.arn_part(topic, 4),
        size_bytes=None, time=sns_time(stamp), source="vault-notification",
        recovery_point_arn=notice.recovery_point_arn, creation_date=_start_time(notice.start_time))


def sns_time(stamp: str | float | None) -> datetime:
    """An SNS envelope's Timestamp in UTC (the time of a vault notification)."""
    if stamp is None:
        raise DecodeError("SNS envelope: Timestamp: field required")
    return timestamp(stamp, "Timestamp")


def _start_time(value: str | None) -> datetime | None:
    try:
        return None if value is None else timestamp(value, "StartTime")
    except DecodeError as exc:
        raise DecodeError(f"vault notification: MessageAttributes.{exc}") from None


def _maybe_utc(value: str | float | None) -> datetime | None:
    return None if value is None else timestamp(value, "detail.creationDate")


def size_of(value: int | str | None) -> int | None:
    """A size as an int: AWS sends backupSizeInBytes as a number or as a string of digits."""
    if not isinstance(value, str):
        return value
    size = int(value)
    if size > MAX_LONG:
        raise DecodeError(f"detail.backupSizeInBytes: {short(value)} is larger than 2^63-1")
    return size
