"""Decoded AWS Backup events: the one shape the rest of the daemon sees.

`decode(body)` accepts, as one SQS message body: an EventBridge event from aws.backup, the
same event inside an SNS envelope (raw delivery off), or an AWS Backup vault notification
(SNS, plain-text Message plus MessageAttributes). It returns a `JobEvent`; other aws.backup
detail-types come back as `kind="ignored"` with a `reason`; anything else raises `DecodeError`
naming what was wrong. `decode_sqs_message` also takes a whole SQS message (with `Body`).

Speed: the common shapes take one pydantic-core pass over the JSON (`validate_json`, no
intermediate dicts); which pass comes first is guessed from the body's first bytes, and only
a failed guess pays for the slower diagnosis that names the problem.
"""

from __future__ import annotations

import json

import pydantic_core
from pydantic import TypeAdapter, ValidationError

from daemon.core.errors import DecodeError
from daemon.core.events.convert import from_event, from_notice, ignored, sns_time
from daemon.core.events.fast import fast_decode
from daemon.core.events.job import (
    FAILED_STATES,
    OPEN_STATES,
    TERMINAL_STATES,
    JobEvent,
    Kind,
    Source,
    timestamp,
)
from daemon.core.events.models import (
    ANY_EVENT,
    JOB_DETAIL_TYPES,
    JOB_EVENT,
    SNS_ENVELOPE,
    SnsEnvelope,
    explain,
    short,
)
from daemon.core.events.notifications import arn_part

__all__ = [
    "FAILED_STATES", "MAX_BODY_BYTES", "OPEN_STATES", "TERMINAL_STATES", "JobEvent", "Kind",
    "Source", "decode", "decode_reference", "decode_sqs_message",
]

MAX_BODY_BYTES = 1_048_576  # SQS's largest message (1 MiB); anything longer is not from AWS


def decode(body: str | bytes) -> JobEvent:
    """Decode one SQS message body; raise `DecodeError` (and nothing else) if it is not one.

    The fast path answers for the shapes AWS sends most; whatever it is not sure of, the
    wire models decide (`decode_reference`), so both always give the same answer.
    """
    try:
        text = body if type(body) is str and len(body) <= MAX_BODY_BYTES else _text(body)
        return fast_decode(text) or _decode(text)
    except DecodeError:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise DecodeError(_unexpected(body, exc)) from None


def decode_reference(body: str | bytes) -> JobEvent:
    """`decode` by the wire models alone: the reference the fast path is held to."""
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


def _unexpected(body: str | bytes, exc: Exception) -> str:
    """The reason for a failure no check above foresaw (a safety net: tests keep it unused)."""
    if isinstance(body, str):
        try:
            body.encode("utf-8")
        except UnicodeEncodeError as bad:
            return f"message is not valid Unicode ({bad.reason} at character {bad.start})"
    return f"undecodable message: {short(str(exc), 200)}"


def _text(body: str | bytes) -> str:
    if len(body) > MAX_BODY_BYTES:
        raise DecodeError(f"message is {len(body)} bytes; SQS messages are at most 1 MiB")
    if isinstance(body, bytes | bytearray):
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DecodeError(f"message is not UTF-8 text ({exc.reason} at byte {exc.start})")\
                from None
    if not isinstance(body, str):
        raise DecodeError(f"message is a {type(body).__name__}, not text")
    return body


def _decode(body: str) -> JobEvent:
    if not body or body.isspace():
        raise DecodeError("empty message body")
    if '"Type"' in body[:64]:  # SNS writes "Type" first; EventBridge writes "version" first
        envelope = _try(SNS_ENVELOPE, body)
        if envelope is not None:
            return _from_sns(envelope)
    event = _try(JOB_EVENT, body)
    if event is not None:
        return from_event(event, "eventbridge")
    return _diagnose(body, inside_sns=False)


def _try[M](adapter: TypeAdapter[M], body: str) -> M | None:
    try:
        return adapter.validate_json(body)
    except ValidationError:
        return None


def _diagnose(body: str, *, inside_sns: bool) -> JobEvent:
    """The slow path: find out what the body is, to decode it or to say what is wrong."""
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
        return _from_sns(_validated(SNS_ENVELOPE, doc, "SNS envelope"))
    if "Body" in doc or "body" in doc:
        raise DecodeError("a whole SQS message, not its body (`ddb-backupd decode` takes either)")
    raise DecodeError("neither an EventBridge event (no 'detail-type') nor an SNS notification "
                      "(no 'Type')")


def _validated[M](adapter: TypeAdapter[M], doc: object, what: str) -> M:
    try:
        return adapter.validate_python(doc)
    except ValidationError as exc:
        raise DecodeError(f"{what}: {explain(exc, drop=JOB_DETAIL_TYPES)}") from None


def _other_event(doc: dict[str, object], source: Source) -> JobEvent:
    """An EventBridge event the fast path refused: a bad job event, or one we ignore."""
    if doc.get("source") != "aws.backup":
        raise DecodeError(f"source {short(doc.get('source'))} is not aws.backup")
    detail_type = doc.get("detail-type")
    if isinstance(detail_type, str) and detail_type in JOB_DETAIL_TYPES:
        return from_event(_validated(JOB_EVENT, doc, f"{detail_type} event"), source)
    event = _validated(ANY_EVENT, doc, "aws.backup event")
    return ignored(timestamp(event.time, "time"), source, event.region, event.account,
                   f"detail-type {short(event.detail_type)} is not a job or recovery point change")


def _from_sns(envelope: SnsEnvelope) -> JobEvent:
    if envelope.type != "Notification":
        topic = envelope.topic_arn
        return ignored(sns_time(envelope.timestamp), "vault-notification", arn_part(topic, 3),
                       arn_part(topic, 4), f"SNS {envelope.type}: confirm or remove the "
                       "subscription; it carries no event")
    message = envelope.message
    if message.lstrip().startswith("{"):
        event = _try(JOB_EVENT, message)
        if event is not None:
            return from_event(event, "sns-eventbridge")
        try:
            return _diagnose(message, inside_sns=True)
        except DecodeError as exc:
            raise DecodeError(f"SNS Message: {exc}") from None
    return from_notice(envelope)


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
