"""The fast path of `decode`: the shapes AWS sends, read by msgspec into `event_structs`.

The contract: `fast_decode(text)` returns what the wire models would make of `text`
(`events.decode_reference`), or None when it is not sure. None is never an answer, only "ask
the models": whatever the Structs refuse, anything the conversion refuses, and the few inputs
msgspec's JSON parser accepts where pydantic's (jiter) does not: more than 200 levels of
nesting, numbers of more than 4300 digits (both need a body longer or more bracketed than
`_TOO_LONG`/`_TOO_DEEP` let through). Every DecodeError and its wording stays the models'.
`tests/core/test_event_fast.py` holds the two paths to the same result, fixtures and
mutations of them alike.

The builders mirror `event_convert`'s, field for field, reading Structs instead of models.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import msgspec

from daemon.core.errors import DecodeError
from daemon.core.events.convert import ignored, notice_event, size_of, vault_of
from daemon.core.events.job import JobEvent, Source
from daemon.core.events.structs import (
    AnyJobEvent,
    BackupJobEvent,
    CopyJobEvent,
    RecoveryPointEvent,
    RestoreJobEvent,
    SnsNotification,
)

_iso = datetime.fromisoformat  # a global: one lookup less than the attribute, per event
_JOB: msgspec.json.Decoder[AnyJobEvent] = msgspec.json.Decoder(AnyJobEvent)
_NOTIFICATION = msgspec.json.Decoder(SnsNotification)
_TOO_LONG = 4300  # jiter refuses integers of more digits; msgspec does not
_TOO_DEEP = 200  # jiter refuses deeper nesting; msgspec does not (brackets bound the depth)


def fast_decode(text: str) -> JobEvent | None:
    """The JobEvent the wire models would make of `text`, or None: ask them."""
    try:
        source: Source = "eventbridge"
        if text.find('"Type"', 0, 64) >= 0:  # events._decode's guess ('"Type"' in text[:64])
            envelope = _NOTIFICATION.decode(text)
            text, source = envelope.message, "sns-eventbridge"
            if not text.lstrip().startswith("{"):
                return _notice(envelope)
        # Could the text hide, in a field msgspec skips, what jiter refuses and msgspec reads?
        if len(text) > _TOO_LONG or text.count("[") + text.count("{") > _TOO_DEEP:
            return None
        event = _JOB.decode(text)
        # Times as AWS writes them ("...Z") read straight into UTC; the models take the rest
        # (epoch seconds, other offsets). Read here, once for every kind of event.
        time, creation = _iso(event.time), event.detail.creation_date
        created = None if creation is None else _iso(creation)
        if time.tzinfo is not UTC or (created is not None and created.tzinfo is not UTC):
            return None
        return _BUILDERS[type(event)](event, source, time, created)
    except (msgspec.DecodeError, ValueError, RecursionError, DecodeError):
        return None  # refused here (ValueError: not Unicode, or not ISO 8601): the models decide


def _notice(envelope: SnsNotification) -> JobEvent:
    """A vault notification: plain text, its facts in message attributes."""
    attributes = {name.lower(): attr.value for name, attr in envelope.message_attributes.items()}
    return notice_event(envelope.message, attributes, envelope.topic_arn, envelope.timestamp)


def _backup(event: BackupJobEvent, source: Source, time: datetime,
            created: datetime | None) -> JobEvent:
    """As event_convert._backup."""
    d = event.detail
    point, size = d.recovery_point_arn, d.backup_size_in_bytes
    if point is None and event.resources and d.state in ("COMPLETED", "PARTIAL"):
        point = event.resources[0]  # AWS names the new recovery point only here
    return JobEvent(
        "backup_job", d.backup_job_id, d.state, d.resource_arn, d.resource_type,
        d.backup_vault_name or vault_of(d.backup_vault_arn), event.region, event.account,
        size_of(size) if isinstance(size, str) else size, time, None, source, point, None,
        created, d.status_message or None)


def _restore(event: RestoreJobEvent, source: Source, time: datetime,
             created: datetime | None) -> JobEvent | None:
    """As event_convert._restore."""
    d = event.detail
    state = d.status or d.state
    if state is None:
        return None  # the models' DecodeError
    return JobEvent(
        "restore_job", d.restore_job_id, state, d.source_resource_arn, d.resource_type,
        vault_of(d.backup_vault_arn), event.region, event.account,
        _size(d.backup_size_in_bytes), time, None, source, d.recovery_point_arn,
        d.created_resource_arn, created, d.status_message or None)


def _copy(event: CopyJobEvent, source: Source, time: datetime,
          created: datetime | None) -> JobEvent:
    """As event_convert._copy."""
    d = event.detail
    if d.copy_job_id is None:
        return ignored(time, source, event.region, event.account,
                       "Copy Job State Change without copyJobId (AWS sends none with CREATED)")
    point = d.destination_recovery_point_arn
    return JobEvent(
        "copy_job", d.copy_job_id, d.state, d.resource_arn, d.resource_type,
        vault_of(d.destination_backup_vault_arn), event.region, event.account,
        _size(d.backup_size_in_bytes), time, None, source,
        point if isinstance(point, str) else None, None, created, d.status_message or None)


def _recovery_point(event: RecoveryPointEvent, source: Source, time: datetime,
                    created: datetime | None) -> JobEvent | None:
    """As event_convert._recovery_point."""
    d = event.detail
    state = d.status or d.state
    if state is None:
        return None  # the models' DecodeError
    arn = d.recovery_point_arn or (event.resources[0] if event.resources else None)
    return JobEvent(
        "recovery_point", arn, state, d.resource_arn, d.resource_type,
        d.backup_vault_name or vault_of(d.backup_vault_arn), event.region, event.account,
        _size(d.backup_size_in_bytes), time, None, source, arn, None, created,
        d.status_message or None)


Builder = Callable[[Any, Source, datetime, "datetime | None"], "JobEvent | None"]
_BUILDERS: dict[type[AnyJobEvent], Builder] = {
    BackupJobEvent: _backup, RestoreJobEvent: _restore, CopyJobEvent: _copy,
    RecoveryPointEvent: _recovery_point}


def _size(value: int | str | None) -> int | None:
    return size_of(value) if isinstance(value, str) else value
