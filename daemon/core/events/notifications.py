"""AWS Backup vault notifications (PutBackupVaultNotifications) as SNS delivers them.

The message is plain text, e.g. "An AWS Backup job was completed successfully. Recovery point
ARN: arn:... Resource ARN : arn:... BackupJob ID : 1b2345b2-...", and the facts that matter
ride in SNS message attributes: `EventType` (`BACKUP_JOB` in AWS's documented examples, or the
subscribed event name such as `BACKUP_JOB_COMPLETED`), `State`, `Id` (or `BackupJobId`),
`AccountId`, `StartTime`. Attributes win over the text; the text fills what they lack
(older notifications say "Backed up Resource ARN" and "Backup Job Id"). The vault itself is
not named in the notification, so `vault` stays unknown unless a `BackupVaultName` attribute
is present.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal, get_args

from msgspec import Struct

from daemon.core import arns
from daemon.core.events.models import BackupJobState, CopyJobState, RestoreJobStatus

NoticeKind = Literal["backup_job", "restore_job", "copy_job"]
KIND_PREFIXES: dict[str, NoticeKind] = {
    "BACKUP_JOB": "backup_job", "RESTORE_JOB": "restore_job", "COPY_JOB": "copy_job"}
STATES: dict[NoticeKind, frozenset[str]] = {
    "backup_job": frozenset(get_args(BackupJobState)),
    "restore_job": frozenset(get_args(RestoreJobStatus)),
    "copy_job": frozenset(get_args(CopyJobState)),
}
# The suffix of a subscribed event name, when no State attribute says more.
SUFFIX_STATES = {"STARTED": "CREATED", "COMPLETED": "COMPLETED", "SUCCESSFUL": "COMPLETED",
                 "FAILED": "FAILED", "EXPIRED": "EXPIRED"}
# Phrases of the message text, checked in order, when neither attribute nor suffix says.
TEXT_STATES = (("completed successfully", "COMPLETED"), ("was successful", "COMPLETED"),
               ("failed to complete in time", "EXPIRED"), ("failed", "FAILED"),
               ("was stopped", "ABORTED"), ("aborted", "ABORTED"), ("started", "CREATED"))
ID_ATTRIBUTES = ("id", "backupjobid", "restorejobid", "copyjobid")
_ARN = r"(arn:\S+)"  # an ARN ends at whitespace; a sentence's full stop is not in it (_arn)
RESOURCE_RE = re.compile(r"Resource ARN\s?:\s?" + _ARN)
RECOVERY_POINT_RE = re.compile(r"Recovery point ARN\s?:\s?" + _ARN, re.IGNORECASE)
JOB_ID_RE = re.compile(r"(Backup|Restore|Copy) ?Job I[Dd]\s?:\s?([\w.:/-]{1,1024})")
TEXT_KINDS: dict[str, NoticeKind] = {
    "Backup": "backup_job", "Restore": "restore_job", "Copy": "copy_job"}

# resource type as AWS Backup names it, by ARN service (and resource prefix where it matters)
RESOURCE_TYPES = {
    "dynamodb": "DynamoDB", "ec2:volume": "EBS", "ec2:instance": "EC2", "rds:db": "RDS",
    "rds:cluster": "Aurora", "elasticfilesystem": "EFS", "fsx": "FSx", "s3": "S3",
    "storagegateway": "Storage Gateway", "redshift": "Redshift", "timestream": "Timestream",
    "cloudformation": "CloudFormation", "eks": "EKS", "docdb": "DocumentDB",
}


class NotificationError(ValueError):
    """The notification lacks what a job event needs; the text says what."""


class Notice(Struct, frozen=True, gc=False):
    """What a vault notification says about one job (None: not said)."""

    kind: NoticeKind
    job_id: str
    state: str
    resource_arn: str | None
    recovery_point_arn: str | None
    account: str | None
    vault: str | None
    start_time: str | None
    event_type: str | None


def kind_of(event_type: str | None, text: str) -> NoticeKind | None:
    """The job kind an EventType (or, lacking one, the message text) names; None if no job."""
    if event_type is not None:
        for prefix, kind in KIND_PREFIXES.items():
            if event_type == prefix or event_type.startswith(prefix + "_"):
                return kind
        return None
    match = JOB_ID_RE.search(text)
    return TEXT_KINDS[match.group(1)] if match else None


def parse(text: str, attributes: dict[str, str], kind: NoticeKind) -> Notice:
    """Read one job's facts from a vault notification of a known job `kind`."""
    event_type = attributes.get("eventtype")
    state = _state(attributes.get("state"), event_type, text)
    if state not in STATES[kind]:
        raise NotificationError(f"State {state!r} is not a {kind.replace('_', ' ')} state")
    return Notice(
        kind=kind, job_id=_job_id(attributes, text), state=state,
        resource_arn=_search(RESOURCE_RE, text), recovery_point_arn=_search(RECOVERY_POINT_RE, text),
        account=attributes.get("accountid"), vault=attributes.get("backupvaultname"),
        start_time=attributes.get("starttime"), event_type=event_type)


def _state(attribute: str | None, event_type: str | None, text: str) -> str:
    if attribute:
        return attribute.strip().upper()
    suffix = event_type.rsplit("_", 1)[-1] if event_type else ""
    if suffix in SUFFIX_STATES:
        return SUFFIX_STATES[suffix]
    lowered = text.lower()
    for phrase, state in TEXT_STATES:
        if phrase in lowered:
            return state
    raise NotificationError("no State attribute, and the Message does not say the job's state")


def _job_id(attributes: dict[str, str], text: str) -> str:
    for name in ID_ATTRIBUTES:
        value = attributes.get(name, "").strip()
        if value:
            return value
    match = JOB_ID_RE.search(text)
    if match:
        return match.group(2)
    raise NotificationError("no job id: no Id attribute and no 'BackupJob ID :' in the Message")


def _search(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return None if match is None else _arn(match.group(1))


def _arn(run: str) -> str:
    """The ARN in a run of non-blanks: without a final full stop, unless that would leave
    nothing after "arn:" (what a lazy match up to an optional full stop and a blank found,
    without the lazy match's retries at every character)."""
    return run[:-1] if run.endswith(".") and len(run) > 5 else run


def arn_part(arn: str | None, index: int) -> str | None:
    """Field `index` of an ARN (2 service, 3 region, 4 account, 5 resource), None if absent."""
    parsed = arns.parse(arn)
    if parsed is None or not 0 < index < 6:
        return None
    return (parsed.partition, parsed.service, parsed.region, parsed.account,
            parsed.resource)[index - 1] or None


@lru_cache(maxsize=4096)
def resource_facts(arn: str | None) -> tuple[str | None, str | None, str | None]:
    """A resource ARN's region, account and AWS Backup resource type (None where absent).
    Cached: the same tables come back every day."""
    parsed = arns.parse(arn)
    if parsed is None:
        return None, None, None
    return (parsed.region or None, parsed.account or None,
            _resource_type(parsed.service, parsed.resource_type))


def resource_type_of(arn: str | None) -> str | None:
    """AWS Backup's resource type name for a resource ARN (e.g. DynamoDB, EBS), else None."""
    return resource_facts(arn)[2]


def _resource_type(service: str, kind: str) -> str | None:
    if not service:
        return None
    return RESOURCE_TYPES.get(f"{service}:{kind}") or RESOURCE_TYPES.get(service)
