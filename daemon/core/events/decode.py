"""Decoded AWS Backup events: one SQS message body in, the one `JobEvent` shape out.

`decode(body)` accepts, as one SQS message body: an EventBridge event from aws.backup, the
same event inside an SNS envelope (raw delivery off), or an AWS Backup vault notification
(SNS, plain-text Message plus MessageAttributes). It returns a `JobEvent`; other aws.backup
detail-types come back as `kind="ignored"` with a `reason`; anything else raises `DecodeError`
naming what was wrong. `decode_sqs_message` also takes a whole SQS message (with `Body`).

A body is read once, straight into the wire model its first bytes suggest. Only a body that
does not fit is read again, as plain JSON, to find out what it is and say what is wrong.
"""

from __future__ import annotations

import json
from typing import assert_never

import msgspec
import pydantic_core

from daemon.core import arns
from daemon.core.errors import DecodeError
from daemon.core.events import notifications
from daemon.core.events.models import (
    FAILED_STATES,
    JOB_EVENTS,
    MAX_LONG,
    OPEN_STATES,
    TERMINAL_STATES,
    AnyEvent,
    BackupJobEvent,
    CopyJobEvent,
    JobEvent,
    JobStateEvent,
    Kind,
    RecoveryPointEvent,
    RestoreJobEvent,
    SnsEnvelope,
    Source,
    ignored,
    timestamp,
)
from daemon.core.events.notifications import arn_part, sns_time
from daemon.core.events.refusals import explain, short

__all__ = [
    "FAILED_STATES", "MAX_BODY_BYTES", "OPEN_STATES", "TERMINAL_STATES", "JobEvent", "Kind",
    "Source", "decode", "decode_sqs_message",
]

MAX_BODY_BYTES = 1_048_576  # SQS's largest message (1 MiB); anything longer is not from AWS
_JOB_EVENT = msgspec.json.Decoder(JobStateEvent)
_SNS_ENVELOPE = msgspec.json.Decoder(SnsEnvelope)
_REFUSED = (msgspec.DecodeError, RecursionError)  # msgspec.ValidationError is a DecodeError


def decode(body: str | bytes) -> JobEvent:
    """Decode one SQS message body; raise `DecodeError` (and nothing else) if it is not one."""
    try:
        return _decode(_text(body))
    except DecodeError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise DecodeError(_unexpected(body, exc)) from None


def decode_sqs_message(raw: str | bytes) -> JobEvent:
    """Decode a whole SQS message (`Body`/`body`, or a one-message `Messages`/`Records` list,
    as `aws sqs receive-message` or a Lambda event shows it) or, failing that, a bare body."""
    text = _text(raw)
    try:
        body = _sqs_body(json.loads(text))
    except (ValueError, RecursionError):
        body = None
    return decode(text if body is None else body)


def _decode(text: str) -> JobEvent:
    # SNS writes "Type" first; EventBridge writes "version" first
    model = _SNS_ENVELOPE if '"Type"' in text[:64] else _JOB_EVENT
    try:
        decoded = model.decode(text)
    except _REFUSED:
        return _diagnose(text, inside_sns=False)
    if isinstance(decoded, SnsEnvelope):
        return _from_sns(decoded)
    return _job_event(decoded, "eventbridge")


def _from_sns(envelope: SnsEnvelope) -> JobEvent:
    if envelope.type != "Notification":
        topic = envelope.topic_arn
        return ignored(f"SNS {envelope.type}: confirm or remove the subscription; it carries "
                       "no event", time=sns_time(envelope.timestamp), source="vault-notification",
                       region=arn_part(topic, 3), account=arn_part(topic, 4))
    if not envelope.message.lstrip().startswith("{"):
        return notifications.job_event(envelope)
    try:
        event = _JOB_EVENT.decode(envelope.message)
    except _REFUSED:
        try:
            return _diagnose(envelope.message, inside_sns=True)
        except DecodeError as exc:
            raise DecodeError(f"SNS Message: {exc}") from None
    return _job_event(event, "sns-eventbridge")


# --- from a wire model to the JobEvent: where each AWS shape keeps job id, state, vault, size ---

def _job_event(event: JobStateEvent, source: Source) -> JobEvent:
    """The differences are AWS's, kept here so nothing downstream needs to know them: restore
    jobs name no vault (only `backupVaultArn`, sometimes), copy jobs count against their
    destination vault, a completed backup job names its recovery point only in `resources`."""
    match event:
        case BackupJobEvent(detail=d):
            point = d.recovery_point_arn
            if point is None and event.resources and d.state in ("COMPLETED", "PARTIAL"):
                point = event.resources[0]  # AWS names the new recovery point only here
            return _event_of(event, source, kind="backup_job", job_id=d.backup_job_id,
                             state=d.state, resource_arn=d.resource_arn,
                             vault=d.backup_vault_name or vault_of(d.backup_vault_arn),
                             recovery_point_arn=point)
        case RestoreJobEvent(detail=d):
            return _event_of(event, source, kind="restore_job", job_id=d.restore_job_id,
                             state=_stated(d.status or d.state, "Restore Job State Change"),
                             resource_arn=d.source_resource_arn,
                             vault=vault_of(d.backup_vault_arn),
                             recovery_point_arn=d.recovery_point_arn,
                             created_resource_arn=d.created_resource_arn)
        case CopyJobEvent(detail=d) if d.copy_job_id is None:
            return ignored("Copy Job State Change without copyJobId (AWS sends none with CREATED)",
                           time=timestamp(event.time, "time"), source=source,
                           region=event.region, account=event.account)
        case CopyJobEvent(detail=d):
            destination = d.destination_recovery_point_arn  # {} until the copy exists
            return _event_of(event, source, kind="copy_job", job_id=d.copy_job_id,
                             state=d.state, resource_arn=d.resource_arn,
                             vault=vault_of(d.destination_backup_vault_arn),
                             recovery_point_arn=destination if isinstance(destination, str)
                             else None)
        case RecoveryPointEvent(detail=d):
            arn = d.recovery_point_arn or (event.resources[0] if event.resources else None)
            return _event_of(event, source, kind="recovery_point", job_id=arn,
                             state=_stated(d.status or d.state, "Recovery Point State Change"),
                             resource_arn=d.resource_arn,
                             vault=d.backup_vault_name or vault_of(d.backup_vault_arn),
                             recovery_point_arn=arn)
    assert_never(event)


def _event_of(event: JobStateEvent, source: Source, *, kind: Kind, job_id: str | None,
              state: str, resource_arn: str | None, vault: str | None,
              recovery_point_arn: str | None, created_resource_arn: str | None = None) -> JobEvent:
    """The JobEvent of `event`: what every shape says alike, plus what each says its own way."""
    d = event.detail
    return JobEvent(
        kind=kind, job_id=job_id, state=state, resource_arn=resource_arn,
        resource_type=d.resource_type, vault=vault, region=event.region, account=event.account,
        size_bytes=size_of(d.backup_size_in_bytes), time=timestamp(event.time, "time"),
        source=source, recovery_point_arn=recovery_point_arn,
        created_resource_arn=created_resource_arn,
        creation_date=None if d.creation_date is None else timestamp(
            d.creation_date, "detail.creationDate"),
        status_message=d.status_message or None)


def _stated(state: str | None, detail_type: str) -> str:
    """A restore job or recovery point must say its state, as `status` or `state`."""
    if state is None:
        raise DecodeError(f"{detail_type} event: detail.status: field required")
    return state


def vault_of(arn: str | None) -> str | None:
    """The vault name of a backup vault ARN (`...:backup-vault:NAME`), else None."""
    parsed = arns.parse(arn)
    if parsed is None or parsed.resource_type != "backup-vault":
        return None
    return parsed.resource_id or None


def size_of(value: int | str | None) -> int | None:
    """A size as an int: AWS sends backupSizeInBytes as a number or as a string of digits."""
    if not isinstance(value, str):
        return value
    size = int(value)
    if size > MAX_LONG:
        raise DecodeError(f"detail.backupSizeInBytes: {short(value)} is larger than 2^63-1")
    return size


# --- a body that does not fit: what is it, and what is wrong with it? -------------------------

def _diagnose(body: str, *, inside_sns: bool) -> JobEvent:
    """Read the body as plain JSON, to decode it after all or to say what is wrong.

    pydantic-core's JSON parser, for its refusal texts (`EOF while parsing a string at line 5
    column 838`, which the README and operators' runbooks quote).
    """
    if not body or body.isspace():
        raise DecodeError("empty message body")
    try:
        doc = pydantic_core.from_json(body)
    except ValueError as exc:
        hint = "" if inside_sns else (
            " (an AWS Backup vault notification needs raw message delivery off)"
            if "AWS Backup" in body else "")
        raise DecodeError(f"not JSON: {str(exc)[:120]}{hint}") from None
    if not isinstance(doc, dict):
        raise DecodeError(f"JSON {type(doc).__name__} is not an event object")
    if "detail-type" in doc or "source" in doc:
        return _other_event(doc, "sns-eventbridge" if inside_sns else "eventbridge")
    if "Type" in doc and not inside_sns:
        return _from_sns(_validated(doc, SnsEnvelope, "SNS envelope"))
    if "Body" in doc or "body" in doc:
        raise DecodeError("a whole SQS message, not its body (`ddb-backupd decode` takes either)")
    raise DecodeError("neither an EventBridge event (no 'detail-type') nor an SNS notification "
                      "(no 'Type')")


def _other_event(doc: dict[str, object], source: Source) -> JobEvent:
    """An EventBridge event that is not a well-formed job event: a bad one, or one we ignore."""
    if doc.get("source") != "aws.backup":
        raise DecodeError(f"source {short(doc.get('source'))} is not aws.backup")
    detail_type = doc.get("detail-type")
    if isinstance(detail_type, str) and detail_type in JOB_EVENTS:
        return _job_event(_validated(doc, JOB_EVENTS[detail_type], f"{detail_type} event"), source)
    event = _validated(doc, AnyEvent, "aws.backup event")
    return ignored(f"detail-type {short(event.detail_type)} is not a job or recovery point change",
                   time=timestamp(event.time, "time"), source=source, region=event.region,
                   account=event.account)


def _validated[M](doc: dict[str, object], model: type[M], what: str) -> M:
    try:
        return msgspec.convert(doc, model)
    except msgspec.ValidationError as exc:
        raise DecodeError(f"{what}: {explain(exc, doc, model)}") from None


# --- the text of a body, and a body inside a whole SQS message --------------------------------

def _text(body: str | bytes) -> str:
    if len(body) > MAX_BODY_BYTES:
        raise DecodeError(f"message is {len(body)} bytes; SQS messages are at most 1 MiB")
    if isinstance(body, str):
        return body
    if not isinstance(body, bytes | bytearray):
        raise DecodeError(f"message is a {type(body).__name__}, not text")
    try:
        return bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"message is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _unexpected(body: str | bytes, exc: Exception) -> str:
    """The reason for a failure no check above foresaw (a safety net: tests keep it unused)."""
    if isinstance(body, str):
        try:
            body.encode("utf-8")
        except UnicodeEncodeError as bad:
            return f"message is not valid Unicode ({bad.reason} at character {bad.start})"
    return f"undecodable message: {short(str(exc), 200)}"


def _sqs_body(doc: object) -> str | None:
    """The body inside a whole SQS message (or a one-message listing of one), else None."""
    if not isinstance(doc, dict):
        return None
    for key in ("Messages", "Records"):
        items = doc.get(key)
        if isinstance(items, list):
            if len(items) != 1 or not isinstance(items[0], dict):
                raise DecodeError(f"{key} holds {len(items)} messages; pass exactly one")
            doc = items[0]
            if isinstance(doc.get("Sns"), dict):  # a Lambda SNS event record
                return json.dumps(doc["Sns"])
    if "detail-type" in doc or "Type" in doc:
        return None
    for key in ("Body", "body"):
        if key in doc:
            if not isinstance(doc[key], str):
                raise DecodeError(f"SQS message {key} is not a string")
            return str(doc[key])
    return None
