"""Wire models of what AWS puts on the queue, mirroring AWS's field names exactly.

EventBridge events from aws.backup (AWS Backup developer guide, "Monitoring AWS Backup events
using Amazon EventBridge"), the SNS envelope SQS receives when raw delivery is off, and the
SNS message attributes of AWS Backup vault notifications. Only the fields the daemon uses
are modelled; everything else AWS adds is ignored, so new AWS fields never poison a message.
Types follow AWS, with its quirks: sizes arrive as numbers or strings, restore jobs say
`status` where backup jobs say `state`, copy jobs send `destinationRecoveryPointArn: {}`
until there is one, and a copy job's CREATED event carries no `copyJobId`.

These models are the reference: `event_structs` mirrors them for the decoder's fast path, and
tests/core/test_event_fast.py holds the two to the same answers. Change both together.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)
from pydantic_core import core_schema as cs

MAX_LONG = 2**63 - 1  # AWS `Long`: sizes beyond it are not sizes but garbage


def _one_of(*choices: cs.CoreSchema, error: str) -> GetPydanticSchema:
    """A union validated in Rust, left to right, with one error message instead of one per arm."""
    return GetPydanticSchema(lambda _type, _handler: cs.union_schema(
        list(choices), mode="left_to_right", custom_error_type="aws_value",
        custom_error_message=error))


# A size in bytes: AWS sends a number or a string of digits (never a boolean or a fraction).
Size = Annotated[int | str, _one_of(
    cs.int_schema(strict=True, ge=0, le=MAX_LONG), cs.str_schema(pattern=r"^[0-9]{1,19}$"),
    error="should be a whole number of bytes, as a number or a string of digits")]
# A timestamp: ISO 8601 as AWS writes it, or epoch seconds; parsed by job_event.timestamp().
Stamp = Annotated[str | int | float, _one_of(
    cs.str_schema(max_length=64), cs.int_schema(strict=True), cs.float_schema(strict=True),
    error="should be an ISO 8601 timestamp or epoch seconds")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
Text = Annotated[str, StringConstraints(max_length=2048)]
Message = Annotated[str, StringConstraints(max_length=65536)]

BackupJobState = Literal[
    "CREATED", "PENDING", "RUNNING", "ABORTING", "ABORTED", "COMPLETED", "FAILED", "EXPIRED",
    "PARTIAL"]
RestoreJobStatus = Literal["CREATED", "PENDING", "RUNNING", "ABORTED", "COMPLETED", "FAILED"]
CopyJobState = Literal[
    "CREATED", "RUNNING", "ABORTING", "ABORTED", "COMPLETING", "COMPLETED", "FAILING", "FAILED",
    "PARTIAL"]
RecoveryPointStatus = Literal[
    "COMPLETED", "PARTIAL", "DELETING", "EXPIRED", "AVAILABLE", "STOPPED", "CREATING"]

JOB_DETAIL_TYPES = frozenset({
    "Backup Job State Change", "Restore Job State Change", "Copy Job State Change",
    "Recovery Point State Change"})


class AwsModel(BaseModel):
    """Frozen, by alias only, unknown fields ignored (AWS adds fields; that is not an error)."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=False)


class BackupJobDetail(AwsModel):
    """`detail` of a Backup Job State Change (CREATED carries only id, state and date)."""

    backup_job_id: Id = Field(alias="backupJobId")
    state: BackupJobState
    backup_vault_name: Text | None = Field(None, alias="backupVaultName")
    backup_vault_arn: Text | None = Field(None, alias="backupVaultArn")
    resource_arn: Text | None = Field(None, alias="resourceArn")
    resource_type: Text | None = Field(None, alias="resourceType")
    backup_size_in_bytes: Size | None = Field(None, alias="backupSizeInBytes")
    recovery_point_arn: Text | None = Field(None, alias="recoveryPointArn")
    creation_date: Stamp | None = Field(None, alias="creationDate")
    status_message: Message | None = Field(None, alias="statusMessage")


class RestoreJobDetail(AwsModel):
    """`detail` of a Restore Job State Change: `status` in most examples, `state` in CREATED."""

    restore_job_id: Id = Field(alias="restoreJobId")
    status: RestoreJobStatus | None = None
    state: RestoreJobStatus | None = None
    backup_vault_arn: Text | None = Field(None, alias="backupVaultArn")
    recovery_point_arn: Text | None = Field(None, alias="recoveryPointArn")
    source_resource_arn: Text | None = Field(None, alias="sourceResourceArn")
    created_resource_arn: Text | None = Field(None, alias="createdResourceArn")
    resource_type: Text | None = Field(None, alias="resourceType")
    backup_size_in_bytes: Size | None = Field(None, alias="backupSizeInBytes")
    creation_date: Stamp | None = Field(None, alias="creationDate")
    status_message: Message | None = Field(None, alias="statusMessage")


class CopyJobDetail(AwsModel):
    """`detail` of a Copy Job State Change; `destinationRecoveryPointArn` is `{}` until known."""

    copy_job_id: Id | None = Field(None, alias="copyJobId")
    state: CopyJobState
    resource_arn: Text | None = Field(None, alias="resourceArn")
    resource_type: Text | None = Field(None, alias="resourceType")
    source_backup_vault_arn: Text | None = Field(None, alias="sourceBackupVaultArn")
    destination_backup_vault_arn: Text | None = Field(None, alias="destinationBackupVaultArn")
    destination_recovery_point_arn: Text | dict[str, Any] | None = Field(
        None, alias="destinationRecoveryPointArn")
    backup_size_in_bytes: Size | None = Field(None, alias="backupSizeInBytes")
    creation_date: Stamp | None = Field(None, alias="creationDate")
    status_message: Message | None = Field(None, alias="statusMessage")


class RecoveryPointDetail(AwsModel):
    """`detail` of a Recovery Point State Change (`status`, like the DescribeRecoveryPoint API)."""

    status: RecoveryPointStatus | None = None
    state: RecoveryPointStatus | None = None
    recovery_point_arn: Text | None = Field(None, alias="recoveryPointArn")
    backup_vault_name: Text | None = Field(None, alias="backupVaultName")
    backup_vault_arn: Text | None = Field(None, alias="backupVaultArn")
    resource_arn: Text | None = Field(None, alias="resourceArn")
    resource_type: Text | None = Field(None, alias="resourceType")
    backup_size_in_bytes: Size | None = Field(None, alias="backupSizeInBytes")
    creation_date: Stamp | None = Field(None, alias="creationDate")
    status_message: Message | None = Field(None, alias="statusMessage")


class BackupEvent(AwsModel):
    """The EventBridge envelope every aws.backup event shares."""

    version: Text | None = None
    id: Text | None = None
    source: Literal["aws.backup"]
    account: Text
    time: Stamp
    region: Text
    resources: list[Text] = Field(default_factory=list, max_length=100)


class BackupJobEvent(BackupEvent):
    """source aws.backup, detail-type "Backup Job State Change"."""

    detail_type: Literal["Backup Job State Change"] = Field(alias="detail-type")
    detail: BackupJobDetail


class RestoreJobEvent(BackupEvent):
    """source aws.backup, detail-type "Restore Job State Change"."""

    detail_type: Literal["Restore Job State Change"] = Field(alias="detail-type")
    detail: RestoreJobDetail


class CopyJobEvent(BackupEvent):
    """source aws.backup, detail-type "Copy Job State Change"."""

    detail_type: Literal["Copy Job State Change"] = Field(alias="detail-type")
    detail: CopyJobDetail


class RecoveryPointEvent(BackupEvent):
    """source aws.backup, detail-type "Recovery Point State Change"."""

    detail_type: Literal["Recovery Point State Change"] = Field(alias="detail-type")
    detail: RecoveryPointDetail


JobStateEvent = Annotated[
    BackupJobEvent | RestoreJobEvent | CopyJobEvent | RecoveryPointEvent,
    Field(discriminator="detail_type")]


class AnyEvent(AwsModel):
    """Just enough of any EventBridge event to say what it is (the fallback after a mismatch)."""

    source: Text
    detail_type: Text = Field(alias="detail-type")
    time: Stamp
    account: Text | None = None
    region: Text | None = None


class SnsAttribute(AwsModel):
    """One SNS message attribute as SNS writes it into the envelope: {"Type", "Value"}."""

    type: Text = Field(alias="Type")
    value: Message | int | float = Field(alias="Value")


class SnsEnvelope(AwsModel):
    """What SQS receives from an SNS subscription with raw message delivery off."""

    type: Literal["Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"] = Field(
        alias="Type")
    message: Annotated[str, StringConstraints(max_length=1_048_576)] = Field(alias="Message")
    message_id: Text | None = Field(None, alias="MessageId")
    topic_arn: Text | None = Field(None, alias="TopicArn")
    subject: Text | None = Field(None, alias="Subject")
    timestamp: Stamp | None = Field(None, alias="Timestamp")
    message_attributes: dict[Text, SnsAttribute] = Field(
        default_factory=dict, alias="MessageAttributes", max_length=100)


# Built once: building a validator is the expensive part, validating is cheap.
JOB_EVENT: TypeAdapter[BackupJobEvent | RestoreJobEvent | CopyJobEvent | RecoveryPointEvent] = (
    TypeAdapter(JobStateEvent))
ANY_EVENT = TypeAdapter(AnyEvent)
SNS_ENVELOPE = TypeAdapter(SnsEnvelope)


def explain(exc: ValidationError, *, drop: frozenset[str] = frozenset(), limit: int = 3) -> str:
    """A ValidationError as one line naming each bad field by its AWS name and what was wrong.

    `drop` removes leading union tags (the detail-type) from locations; the caller names them.
    """
    errors = exc.errors(include_url=False, include_context=False)
    parts = []
    for error in errors[:limit]:
        loc = [str(p) for p in error["loc"]]
        if loc and loc[0] in drop:
            loc = loc[1:]
        where = ".".join(loc) or "document"
        got = error.get("input")
        shown = f" (got {short(got)})" if isinstance(got, str | int | float | bool) else ""
        parts.append(f"{where}: {error['msg'][:200]}{shown}")
    more = f"; and {len(errors) - limit} more" if len(errors) > limit else ""
    return "; ".join(parts) + more


def short(value: object, width: int = 60) -> str:
    """A value as a short repr: enough to recognise it, never a flood (nor a 5000-digit int)."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return repr(value) if value.bit_length() <= 64 else f"<{value.bit_length()}-bit integer>"
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    text = repr(value[:width])
    return text if len(text) <= width else text[: width - 3] + "..."
