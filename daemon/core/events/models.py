"""The event model: what AWS puts on the queue, and the one `JobEvent` it becomes.

The wire models mirror AWS's field names exactly: EventBridge events from aws.backup (AWS
Backup developer guide, "Monitoring AWS Backup events using Amazon EventBridge"), the SNS
envelope SQS receives when raw delivery is off, and the SNS message attributes of AWS Backup
vault notifications. Only the fields the daemon reads are modelled; anything else AWS adds is
skipped unread, so new AWS fields never poison a message. Types follow AWS, with its quirks:
sizes arrive as numbers or strings, restore jobs say `status` where backup jobs say `state`,
copy jobs send `destinationRecoveryPointArn: {}` until there is one, and a copy job's CREATED
event carries no `copyJobId`.

msgspec Structs: the decoder reads a body straight into them in one pass, skipping what is
not declared, in about the time `json.loads` takes to build plain dicts (pydantic's
`validate_json` into the same models takes 1.6 times as long). `refusals.explain` words a
refusal from the types declared here; `_worded` gives the wording of a type whose own would
mislead. `gc=False`: decoded JSON holds no reference cycles, so the collector need not track
the events of a backup wave.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from msgspec import Meta, Struct, field
from pydantic import TypeAdapter, ValidationError

from daemon.core.errors import DecodeError

MAX_LONG = 2**63 - 1  # AWS `Long`: sizes beyond it are not sizes but garbage


def _worded(refusal: str) -> Meta:
    """What a refused value of the annotated type should be, as a refusal says it."""
    return Meta(extra={"refusal": refusal})


# A size in bytes: a number or a string of digits (not a boolean, not a fraction). \A and \Z:
# Python's $ also matches before a final newline.
Size = Annotated[
    Annotated[int, Meta(ge=0, le=MAX_LONG)] | Annotated[str, Meta(pattern=r"\A[0-9]{1,19}\Z")],
    _worded("should be a whole number of bytes, as a number or a string of digits")]
# A time: ISO 8601 as AWS writes it, or epoch seconds; read by `timestamp` below.
Stamp = Annotated[Annotated[str, Meta(max_length=64)] | int | float,
                  _worded("should be an ISO 8601 timestamp or epoch seconds")]
Id = Annotated[str, Meta(min_length=1, max_length=1024)]
Text = Annotated[str, Meta(max_length=2048)]
Message = Annotated[str, Meta(max_length=65536)]
ArnOrEmpty = Annotated[Text | dict[str, Any], _worded("should be an ARN, or {} until there is one")]
AttributeValue = Annotated[Message | int | float,
                           _worded("should be text (at most 65536 characters) or a number")]

BackupJobState = Literal[
    "CREATED", "PENDING", "RUNNING", "ABORTING", "ABORTED", "COMPLETED", "FAILED", "EXPIRED",
    "PARTIAL"]
RestoreJobStatus = Literal["CREATED", "PENDING", "RUNNING", "ABORTED", "COMPLETED", "FAILED"]
CopyJobState = Literal[
    "CREATED", "RUNNING", "ABORTING", "ABORTED", "COMPLETING", "COMPLETED", "FAILING", "FAILED",
    "PARTIAL"]
RecoveryPointStatus = Literal[
    "COMPLETED", "PARTIAL", "DELETING", "EXPIRED", "AVAILABLE", "STOPPED", "CREATING"]


class AwsModel(Struct, kw_only=True, gc=False):
    """A wire model: fields by AWS's names, unknown fields skipped."""


class JobDetail(AwsModel):
    """The fields every job `detail` has alike (all optional: CREATED events carry few)."""

    resource_type: Text | None = field(default=None, name="resourceType")
    backup_size_in_bytes: Size | None = field(default=None, name="backupSizeInBytes")
    creation_date: Stamp | None = field(default=None, name="creationDate")
    status_message: Message | None = field(default=None, name="statusMessage")


class BackupJobDetail(JobDetail, kw_only=True):
    """`detail` of a Backup Job State Change (CREATED carries only id, state and date)."""

    backup_job_id: Id = field(name="backupJobId")
    state: BackupJobState
    backup_vault_name: Text | None = field(default=None, name="backupVaultName")
    backup_vault_arn: Text | None = field(default=None, name="backupVaultArn")
    resource_arn: Text | None = field(default=None, name="resourceArn")
    recovery_point_arn: Text | None = field(default=None, name="recoveryPointArn")


class RestoreJobDetail(JobDetail, kw_only=True):
    """`detail` of a Restore Job State Change: `status` in most examples, `state` in CREATED."""

    restore_job_id: Id = field(name="restoreJobId")
    status: RestoreJobStatus | None = None
    state: RestoreJobStatus | None = None
    backup_vault_arn: Text | None = field(default=None, name="backupVaultArn")
    recovery_point_arn: Text | None = field(default=None, name="recoveryPointArn")
    source_resource_arn: Text | None = field(default=None, name="sourceResourceArn")
    created_resource_arn: Text | None = field(default=None, name="createdResourceArn")


class CopyJobDetail(JobDetail, kw_only=True):
    """`detail` of a Copy Job State Change; `destinationRecoveryPointArn` is `{}` until known."""

    copy_job_id: Id | None = field(default=None, name="copyJobId")
    state: CopyJobState
    resource_arn: Text | None = field(default=None, name="resourceArn")
    destination_backup_vault_arn: Text | None = field(
        default=None, name="destinationBackupVaultArn")
    destination_recovery_point_arn: ArnOrEmpty | None = field(
        default=None, name="destinationRecoveryPointArn")


class RecoveryPointDetail(JobDetail, kw_only=True):
    """`detail` of a Recovery Point State Change (`status`, like the DescribeRecoveryPoint API)."""

    status: RecoveryPointStatus | None = None
    state: RecoveryPointStatus | None = None
    recovery_point_arn: Text | None = field(default=None, name="recoveryPointArn")
    backup_vault_name: Text | None = field(default=None, name="backupVaultName")
    backup_vault_arn: Text | None = field(default=None, name="backupVaultArn")
    resource_arn: Text | None = field(default=None, name="resourceArn")


class BackupEvent(AwsModel, tag_field="detail-type"):
    """The EventBridge envelope every aws.backup event shares; `detail-type` names the kind."""

    source: Literal["aws.backup"]
    account: Text
    time: Stamp
    region: Text
    resources: Annotated[list[Text], Meta(max_length=100)] = []


class BackupJobEvent(BackupEvent, kw_only=True, tag="Backup Job State Change"):
    """source aws.backup, detail-type "Backup Job State Change"."""

    detail: BackupJobDetail


class RestoreJobEvent(BackupEvent, kw_only=True, tag="Restore Job State Change"):
    """source aws.backup, detail-type "Restore Job State Change"."""

    detail: RestoreJobDetail


class CopyJobEvent(BackupEvent, kw_only=True, tag="Copy Job State Change"):
    """source aws.backup, detail-type "Copy Job State Change"."""

    detail: CopyJobDetail


class RecoveryPointEvent(BackupEvent, kw_only=True, tag="Recovery Point State Change"):
    """source aws.backup, detail-type "Recovery Point State Change"."""

    detail: RecoveryPointDetail


JobStateEvent = BackupJobEvent | RestoreJobEvent | CopyJobEvent | RecoveryPointEvent
JOB_EVENTS: dict[str, type[JobStateEvent]] = {
    str(model.__struct_config__.tag): model
    for model in (BackupJobEvent, RestoreJobEvent, CopyJobEvent, RecoveryPointEvent)}


class AnyEvent(AwsModel):
    """Just enough of any EventBridge event to say what it is (when it is not a job event)."""

    source: Text
    detail_type: Text = field(name="detail-type")
    time: Stamp
    account: Text | None = None
    region: Text | None = None


class SnsAttribute(AwsModel):
    """One SNS message attribute as SNS writes it into the envelope: {"Type", "Value"}."""

    type: Text = field(name="Type")
    value: AttributeValue = field(name="Value")


class SnsEnvelope(AwsModel):
    """What SQS receives from an SNS subscription with raw message delivery off."""

    type: Literal["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"] = field(
        name="Type")
    message: Annotated[str, Meta(max_length=1_048_576)] = field(name="Message")
    topic_arn: Text | None = field(default=None, name="TopicArn")
    timestamp: Stamp | None = field(default=None, name="Timestamp")
    message_attributes: Annotated[dict[Text, SnsAttribute], Meta(max_length=100)] = field(
        default={}, name="MessageAttributes")


# --- the one shape the rest of the daemon sees ---------------------------------------------

Kind = Literal["backup_job", "restore_job", "copy_job", "recovery_point", "ignored"]
Source = Literal["eventbridge", "sns-eventbridge", "vault-notification", "api"]

TERMINAL_STATES = frozenset({"COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"})
FAILED_STATES = frozenset({"FAILED", "ABORTED", "EXPIRED", "PARTIAL"})
OPEN_STATES = frozenset({"CREATED", "PENDING", "RUNNING", "ABORTING"})


class JobEvent(Struct, kw_only=True, frozen=True, gc=False):
    """One AWS Backup event, whatever its wire shape. `kind == "ignored"` carries a `reason`.

    `time` is when AWS emitted the event (EventBridge `time`, SNS `Timestamp`; for `api`
    snapshots, when the listing was taken): the tracker orders same-state events by it.
    Times are aware, in UTC. A value: equal by fields, never changed once built.
    """

    kind: Kind
    job_id: str | None
    state: str | None
    resource_arn: str | None
    resource_type: str | None
    vault: str | None
    region: str | None
    account: str | None
    size_bytes: int | None
    time: datetime
    reason: str | None = None
    source: Source = "eventbridge"
    recovery_point_arn: str | None = None
    created_resource_arn: str | None = None
    creation_date: datetime | None = None
    status_message: str | None = None


def ignored(reason: str, *, time: datetime, source: Source, region: str | None,
            account: str | None) -> JobEvent:
    """An event understood and deliberately not acted on."""
    return JobEvent(kind="ignored", job_id=None, state=None, resource_arn=None,
                    resource_type=None, vault=None, region=region, account=account,
                    size_bytes=None, time=time, source=source, reason=reason)


_ANY_TIME = TypeAdapter(datetime)


def timestamp(value: str | float, name: str) -> datetime:
    """A `Stamp` (ISO 8601 in any of its forms, or epoch seconds) as an aware time in UTC.

    `datetime.fromisoformat` reads AWS's usual forms, "...Z" already in UTC; anything else
    (epoch numbers, numeric strings) goes through pydantic's more forgiving parser, whose
    refusal names what is wrong with the time.
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo is UTC else utc(parsed, name)
    try:
        return utc(_ANY_TIME.validate_python(value), name)
    except ValidationError as exc:
        message = exc.errors(include_url=False)[0]["msg"]
        raise DecodeError(f"{name}: {message} (got {str(value)[:40]!r})") from None


def utc(value: datetime, name: str) -> datetime:
    """The same instant with tzinfo=UTC; a time without offset is taken as UTC (AWS's zone)."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() == timedelta(0):
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise DecodeError(f"{name}: {value.isoformat()} is out of range in UTC") from None
