"""One job as the tracker knows it, and how one event updates it, field by field.

The rules make the result independent of arrival order (SQS delivers at least once, in any
order):

- states rank CREATED < PENDING < RUNNING < ABORTING < terminal; a terminal state is final
  (a late RUNNING after COMPLETED changes nothing);
- between events of equal rank the later event time wins, then the state name, so no tie
  is decided by arrival;
- the size follows its own precedence (rank, time, then the larger size), so a size-less
  event never erases one, and an estimate from `set_size` yields to any event's size;
- vault, resource, region and account are filled from whichever event has them (AWS never
  changes them during a job; CREATED events simply lack them); `started` is the earliest seen.
  The account a job counts under is the tracker's to say (`JobTable` caps the accounts it
  tracks), so `merge` leaves it alone.

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
GroupKey = tuple[str, str, str, str]  # (vault, resource type, region, account)
ScopeKey = tuple[str, str]  # (account, region): where AWS's limits apply


class TrackedJob(Struct, kw_only=True, gc=False):
    """One job as the tracker knows it. `size_rank`/`size_time` say which event set the size;
    `group` is the (vault, resource type, region, account) it counts toward, kept with the
    fields; `account` is the account it counts under (its own, or `other` past the cap).

    A msgspec Struct with `gc=False`: it holds strings, numbers, datetimes and a tuple of
    strings (no cycle), so the collector neither tracks nor scans the tens of thousands a
    large backup wave keeps open.
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
    account: str | None = None
    group: GroupKey = (UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN)


def new_job(event: JobEvent, job_id: str, rank: int, account: str | None = None) -> TrackedJob:
    """The job as its first event describes it, counted under `account` (the tracker's
    label for the event's account)."""
    time = _aware(event.time)
    job = TrackedJob(
        job_id=job_id, kind=event.kind, state=intern(event.state or ""),
        resource_arn=_shared(event.resource_arn), resource_type=_shared(event.resource_type),
        vault=_shared(event.vault), region=_shared(event.region), size_bytes=event.size_bytes,
        started=_aware(event.creation_date or time), updated=time, account=account)
    if event.size_bytes is not None:
        job.size_rank, job.size_time = rank, time
    job.group = _group(job)
    return job


def merge(job: TrackedJob, event: JobEvent, rank: int) -> bool:
    """Fold one event into a job, each field by its own precedence; True if a field changed."""
    time, state, size = _aware(event.time), event.state or "", event.size_bytes
    current, changed = RANK[job.state], False
    if current < FINAL and (rank, time, state) > (current, job.updated, job.state):
        changed = state != job.state
        job.state, job.updated = intern(state), time
    if size is not None and (rank, time, size) > (job.size_rank, job.size_time, job.size_bytes or 0):
        changed = changed or size != job.size_bytes
        job.size_bytes, job.size_rank, job.size_time = size, rank, time
    changed |= _fill(job, event)
    job.started = min(job.started, _aware(event.creation_date or time))
    return changed


def _fill(job: TrackedJob, event: JobEvent) -> bool:
    """Take vault, resource and region from the event where the job has none yet."""
    filled = False
    if job.vault is None and event.vault is not None:
        job.vault, filled = intern(event.vault), True
    if job.resource_type is None and event.resource_type is not None:
        job.resource_type, filled = intern(event.resource_type), True
    if job.region is None and event.region is not None:
        job.region, filled = intern(event.region), True
    if job.resource_arn is None and event.resource_arn is not None:
        job.resource_arn, filled = intern(event.resource_arn), True
    if filled:
        job.group = _group(job)
    return filled


def regroup(job: TrackedJob) -> None:
    """Recompute the group after a field of it changed outside `merge` (the account)."""
    job.group = _group(job)


def _group(job: TrackedJob) -> GroupKey:
    return (job.vault or UNKNOWN, job.resource_type or UNKNOWN, job.region or UNKNOWN,
            job.account or UNKNOWN)


def _shared(text: str | None) -> str | None:
    return None if text is None else intern(text)


def _aware(time: datetime) -> datetime:
    """A time without zone is taken as UTC (JobEvents from `decode` are always in UTC)."""
    return time if time.tzinfo is not None else time.replace(tzinfo=UTC)

