"""The wire models once more, as msgspec Structs: what the decoder's fast path reads into.

Why a second declaration: msgspec decodes JSON straight into these in one pass, checking each
declared field and skipping the rest without building them, about four times faster than
pydantic's `validate_json` into the models (which builds five objects per event). The pydantic
models in `event_models` stay the reference and the documentation of the wire format: each
Struct here mirrors one model field for field (AWS's names, the same types and limits, the
same state names, imported from there), and `tests/core/test_event_fast.py` holds what the
two accept and produce to be the same.

Narrowed on purpose, never widened (whatever these refuse, the models decide): timestamps and
SNS attribute values are text only (epoch numbers, numeric attributes: the models' to read),
an event with a `detail_type` key is theirs, the SNS Type is "Notification" only, and the
SNS envelope takes no field SNS does not write. `gc=False`: these hold no cycles, so the
collector need not track the tens of thousands a backup wave makes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, Struct, UnsetType, field

from daemon.core.events.models import (
    MAX_LONG,
    BackupJobState,
    CopyJobState,
    RecoveryPointStatus,
    RestoreJobStatus,
)

Id = Annotated[str, Meta(min_length=1, max_length=1024)]
Text = Annotated[str, Meta(max_length=2048)]
Message = Annotated[str, Meta(max_length=65536)]
Stamp = Annotated[str, Meta(max_length=64)]
# A size: a whole number (not a boolean, not a fraction) or a string of ASCII digits. \A and
# \Z, not ^ and $: Python's $ also matches before a final newline, pydantic's (Rust) does not.
Size = (Annotated[int, Meta(ge=0, le=MAX_LONG)]
        | Annotated[str, Meta(pattern=r"\A[0-9]{1,19}\Z")])


class Detail(Struct, kw_only=True, gc=False):
    """The fields every job detail model declares alike."""

    resource_type: Text | None = field(default=None, name="resourceType")
    backup_size_in_bytes: Size | None = field(default=None, name="backupSizeInBytes")
    creation_date: Stamp | None = field(default=None, name="creationDate")
    status_message: Message | None = field(default=None, name="statusMessage")


class BackupJobDetail(Detail, kw_only=True, gc=False):
    """event_models.BackupJobDetail."""

    backup_job_id: Id = field(name="backupJobId")
    state: BackupJobState
    backup_vault_name: Text | None = field(default=None, name="backupVaultName")
    backup_vault_arn: Text | None = field(default=None, name="backupVaultArn")
    resource_arn: Text | None = field(default=None, name="resourceArn")
    recovery_point_arn: Text | None = field(default=None, name="recoveryPointArn")


class RestoreJobDetail(Detail, kw_only=True, gc=False):
    """event_models.RestoreJobDetail."""

    restore_job_id: Id = field(name="restoreJobId")
    status: RestoreJobStatus | None = None
    state: RestoreJobStatus | None = None
    backup_vault_arn: Text | None = field(default=None, name="backupVaultArn")
    recovery_point_arn: Text | None = field(default=None, name="recoveryPointArn")
    source_resource_arn: Text | None = field(default=None, name="sourceResourceArn")
    created_resource_arn: Text | None = field(default=None, name="createdResourceArn")


class CopyJobDetail(Detail, kw_only=True, gc=False):
    """event_models.CopyJobDetail."""

    copy_job_id: Id | None = field(default=None, name="copyJobId")
    state: CopyJobState
    resource_arn: Text | None = field(default=None, name="resourceArn")
    source_backup_vault_arn: Text | None = field(default=None, name="sourceBackupVaultArn")
    destination_backup_vault_arn: Text | None = field(
        default=None, name="destinationBackupVaultArn")
    destination_recovery_point_arn: Text | dict[str, Any] | None = field(
        default=None, name="destinationRecoveryPointArn")


class RecoveryPointDetail(Detail, kw_only=True, gc=False):
    """event_models.RecoveryPointDetail."""

    status: RecoveryPointStatus | None = None
    state: RecoveryPointStatus | None = None
    recovery_point_arn: Text | None = field(default=None, name="recoveryPointArn")
    backup_vault_name: Text | None = field(default=None, name="backupVaultName")
    backup_vault_arn: Text | None = field(default=None, name="backupVaultArn")
    resource_arn: Text | None = field(default=None, name="resourceArn")


class Event(Struct, kw_only=True, gc=False, tag_field="detail-type"):
    """event_models.BackupEvent: the EventBridge envelope; `detail-type` picks the subclass."""

    source: Literal["aws.backup"]
    account: Text
    time: Stamp
    region: Text
    version: Text | None = None
    id: Text | None = None
    resources: Annotated[list[Text], Meta(max_length=100)] = field(default_factory=list)
    # pydantic looks for the discriminator under the field's name first, then its alias: a
    # `detail_type` key, whatever its value, leaves the decision to the models
    detail_type_by_name: UnsetType = field(default=UNSET, name="detail_type")


class BackupJobEvent(Event, kw_only=True, gc=False, tag="Backup Job State Change"):
    """event_models.BackupJobEvent."""

    detail: BackupJobDetail


class RestoreJobEvent(Event, kw_only=True, gc=False, tag="Restore Job State Change"):
    """event_models.RestoreJobEvent."""

    detail: RestoreJobDetail


class CopyJobEvent(Event, kw_only=True, gc=False, tag="Copy Job State Change"):
    """event_models.CopyJobEvent."""

    detail: CopyJobDetail


class RecoveryPointEvent(Event, kw_only=True, gc=False, tag="Recovery Point State Change"):
    """event_models.RecoveryPointEvent."""

    detail: RecoveryPointDetail


class SnsAttribute(Struct, gc=False, forbid_unknown_fields=True):
    """event_models.SnsAttribute, its Value text only."""

    type: Text = field(name="Type")
    value: Message = field(name="Value")


class SnsNotification(Struct, kw_only=True, gc=False, forbid_unknown_fields=True):
    """event_models.SnsEnvelope of Type Notification.

    Every field SNS writes is declared, as text, and no other is allowed: then no value is
    skipped unread, so none can hide what jiter refuses and msgspec would not (deep nesting,
    huge numbers; see event_fast), and the envelope needs no scan of its own. `Message` has no
    limit here: decode refuses bodies over 1 MiB, and a Message is shorter than its body.
    """

    type: Literal["Notification"] = field(name="Type")
    message: str = field(name="Message")
    message_id: Text | None = field(default=None, name="MessageId")
    topic_arn: Text | None = field(default=None, name="TopicArn")
    subject: Text | None = field(default=None, name="Subject")
    timestamp: Stamp | None = field(default=None, name="Timestamp")
    message_attributes: Annotated[dict[Text, SnsAttribute], Meta(max_length=100)] = field(
        default_factory=dict, name="MessageAttributes")
    # read by nobody (the models ignore them), declared so that nothing goes unread
    signature_version: str | None = field(default=None, name="SignatureVersion")
    signature: str | None = field(default=None, name="Signature")
    signing_cert_url: str | None = field(default=None, name="SigningCertURL")
    unsubscribe_url: str | None = field(default=None, name="UnsubscribeURL")
    sequence_number: str | None = field(default=None, name="SequenceNumber")


AnyJobEvent = BackupJobEvent | RestoreJobEvent | CopyJobEvent | RecoveryPointEvent
