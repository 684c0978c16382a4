"""One job as the tracker knows it, and how one event updates it, field by field.

The rules make the result independent of arrival order (SQS delivers at least once, in any
order):

- states rank CREATED < PENDING < RUNNING < ABORTING < terminal; a terminal state is final
  (a late RUNNING after COMPLETED changes nothing);
- between events of equal rank the later event time wins, then the state name, so no tie
  is decided by arrival;
- the size follows its own precedence (rank, time, then the larger size), so a size-less
  event never erases one, and an estimate from `set_size` yields to any event's size;
- vault, resource and region are filled from whichever event has them (AWS never changes
  them during a job; CREATED events simply lack them); `started` is the earliest seen.

Repeated strings (vaults, types, regions, ARNs) are interned: one copy for all jobs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from sys import intern

from msgspec import Struct

from daemon.core.events.models import JobEvent

RANK = {"CREATED": 0, "PENDING": 1, "RUNNING": 2, "ABORTING": 3, "COMPLETING": 3, "FAILING": 3,
        "COMPLETED": 4, "FAILED": 4, "ABORTED": 4, "EXPIRED": 4, "PARTIAL": 4}
FINAL = 4
UNKNOWN = "unknown"  # a group label for what no event has said yet (CloudWatch needs a value)
NO_SIZE = -1  # size rank of "no size" and of a set_size() estimate: any event's size beats it
_NEVER = datetime.min.replace(tzinfo=UTC)
GroupKey = tuple[str, str, str]


class TrackedJob(Struct, gc=False):
    """One job as the tracker knows it. `size_rank`/`size_time` say which event set the size;
    `group` is the (vault, resource type, region) it counts toward, kept with the fields.

    A msgspec Struct, not a dataclass: built in C (once per job), and with `gc=False` (it
    holds strings, numbers, datetimes and a tuple of strings: no cycle) the collector neither
    tracks nor scans the tens of thousands a large backup wave keeps open, and each is 16
    bytes smaller.
    """

    job_id: str
    kind: str
    state: str
    resource_arn: str | None
    resource_type: str | None
    vault: str | None
    region: str | None
    size_bytes: int | None
    started: datetime
    updated: datetime
    size_rank: int = NO_SIZE
    size_time: datetime = _NEVER
    group: GroupKey = (UNKNOWN, UNKNOWN, UNKNOWN)


def new_job(event: JobEvent, job_id: str, rank: int) -> TrackedJob:
    """The job as its first event describes it (strings shared across jobs are interned)."""
    time = event.time
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    start = event.creation_date or time
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    size, vault, kind, region, arn = (
        event.size_bytes, event.vault, event.resource_type, event.region, event.resource_arn)
    vault = None if vault is None else intern(vault)
    kind = None if kind is None else intern(kind)
    region = None if region is None else intern(region)
    # positional: keyword calls cost more, and this runs once per job
    return TrackedJob(
        job_id, event.kind, intern(event.state or ""), None if arn is None else intern(arn),
        kind, vault, region, size, start, time, NO_SIZE if size is None else rank,
        _NEVER if size is None else time, (vault or UNKNOWN, kind or UNKNOWN, region or UNKNOWN))


def merge(job: TrackedJob, event: JobEvent, rank: int) -> bool:
    """Fold one event into a job, each field by its own precedence; True if a field changed.

    The precedence comparisons are spelled out rather than written as tuple comparisons:
    this runs for every event, and building the tuples cost more than the rest of it.
    """
    time = event.time
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    changed = False
    state = event.state or ""
    current = RANK[job.state]
    if current < FINAL and (rank > current or (rank == current and (
            time > job.updated or (time == job.updated and state > job.state)))):
        changed = state != job.state
        job.state, job.updated = intern(state), time
    size = event.size_bytes
    if size is not None and (rank > job.size_rank or (rank == job.size_rank and (
            time > job.size_time or (time == job.size_time and size > (job.size_bytes or 0))))):
        changed = changed or size != job.size_bytes
        job.size_bytes, job.size_rank, job.size_time = size, rank, time
    if ((job.vault is None and event.vault is not None)  # usually all filled: no call
            or (job.resource_type is None and event.resource_type is not None)
            or (job.region is None and event.region is not None)
            or (job.resource_arn is None and event.resource_arn is not None)):
        _fill(job, event)
        changed = True
    start = event.creation_date or time
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    if start < job.started:  # noqa: PLR1730 - min() is a call, and this runs per event
        job.started = start
    return changed


def _fill(job: TrackedJob, event: JobEvent) -> None:
    """Take vault, resource and region from the event where the job has none yet."""
    vault, kind, region, arn = event.vault, event.resource_type, event.region, event.resource_arn
    job.vault = job.vault or (None if vault is None else intern(vault))
    job.resource_type = job.resource_type or (None if kind is None else intern(kind))
    job.region = job.region or (None if region is None else intern(region))
    job.resource_arn = job.resource_arn or (None if arn is None else intern(arn))
    job.group = (job.vault or UNKNOWN, job.resource_type or UNKNOWN, job.region or UNKNOWN)
