"""`JobEvent`: one AWS Backup event as the rest of the daemon sees it, whatever its wire shape.

Re-exported by `daemon.core.events.decode`, which is where callers import it from; it lives apart so
the decoder's modules can build it without importing each other in a circle.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from msgspec import Struct
from pydantic import TypeAdapter, ValidationError

from daemon.core.errors import DecodeError

Kind = Literal["backup_job", "restore_job", "copy_job", "recovery_point", "ignored"]
Source = Literal["eventbridge", "sns-eventbridge", "vault-notification", "api"]

TERMINAL_STATES = frozenset({"COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"})
FAILED_STATES = frozenset({"FAILED", "ABORTED", "EXPIRED", "PARTIAL"})
OPEN_STATES = frozenset({"CREATED", "PENDING", "RUNNING", "ABORTING"})
_ZERO = timedelta(0)
_ANY_TIME = TypeAdapter(datetime)


class JobEvent(Struct, gc=False):
    """One AWS Backup event, normalised. `kind == "ignored"` carries a `reason`.

    `time` is when AWS emitted the event (EventBridge `time`, SNS `Timestamp`; for `api`
    snapshots, when the listing was taken): the tracker orders same-state events by it.
    Times are aware, in UTC. A value: nothing changes one after decoding.

    A msgspec Struct rather than a dataclass: built in C, a third of the time (one is built
    per message), and `gc=False` (it holds only strings, numbers and datetimes, so no cycle)
    keeps the collector from tracking every event of a backup wave. Same fields, keyword or
    positional construction, equality by value.
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


def timestamp(value: str | float, field: str) -> datetime:
    """A timestamp as AWS writes it (ISO 8601 in any of its forms, or epoch seconds), in UTC.

    `datetime.fromisoformat` reads AWS's usual forms fast, "...Z" already in UTC; anything
    else (epoch numbers, numeric strings) goes through pydantic's more forgiving parser. Not
    cached: a parse costs about what a cache lookup and its upkeep cost (measured with
    benchmarks/decode_apply.py).
    """
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo is UTC else utc(parsed, field)
    try:
        return utc(_ANY_TIME.validate_python(value), field)
    except ValidationError as exc:
        message = exc.errors(include_url=False)[0]["msg"]
        raise DecodeError(f"{field}: {message} (got {str(value)[:40]!r})") from None


def utc(value: datetime, field: str) -> datetime:
    """The same instant with tzinfo=UTC; a time without offset is taken as UTC (AWS's zone)."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None or value.utcoffset() == _ZERO:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise DecodeError(f"{field}: {value.isoformat()} is out of range in UTC") from None
