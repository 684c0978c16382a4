"""The job tracker: job id -> every open AWS Backup job, with running totals (pure, no I/O).

A synchronous state machine in the spirit of velero's backup_tracker. Applying events is
idempotent and order-tolerant, so SQS's at-least-once, unordered delivery cannot skew it:
how one event updates one job is `job_state.merge` (states only move forward, terminal
states are final, each field by its own precedence); this table adds the memory of finished
jobs (the last `finished_memory`) so a late duplicate cannot resurrect one.

Running totals per (vault, resource type, region, account), and per (account, region) where
AWS's limits apply, are kept incrementally, O(1) per event, counting only open `backup_job`s.
The accounts tracked by name are capped (`max_accounts`): later accounts count under `other`,
so a label set stays bounded however many accounts send events; `take_folded` hands each
folded account out once, to be logged. In-memory only: lost on restart by design and rebuilt
from AWS (ListBackupJobs, see `diff`) at start.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Collection, Iterable
from copy import copy
from dataclasses import dataclass
from sys import intern
from typing import NamedTuple

from msgspec import Struct

from daemon.core.events.job_state import (
    FINAL,
    NO_SIZE,
    RANK,
    UNKNOWN,
    GroupKey,
    ScopeKey,
    TrackedJob,
    merge,
    new_job,
    regroup,
)
from daemon.core.events.models import JobEvent

__all__ = ["OTHER", "UNKNOWN", "GroupKey", "JobTable", "ReconcilePlan", "ScopeKey", "Totals",
           "TrackedJob", "Transition"]
TRACKED_KINDS = frozenset({"backup_job", "restore_job", "copy_job"})
OTHER = "other"  # the account label of every account past the cap
ACCOUNT_MEMORY = 100_000  # accounts remembered (tracked or folded): bounds the label map


class Totals(NamedTuple):
    """Open backup jobs and their bytes in one group."""

    jobs: int
    bytes: int


class Transition(Struct, kw_only=True, frozen=True, gc=False):
    """What one event changed: the job after it, and where its state came from.

    `new`: the first event of this job; `finished`: it just entered a terminal state.
    """

    job: TrackedJob
    previous_state: str | None
    state: str
    new: bool
    finished: bool


@dataclass(frozen=True, slots=True)
class ReconcilePlan:
    """Listed open jobs the table lacks or is behind on, and open jobs AWS no longer lists."""

    upserts: list[JobEvent]
    vanished: list[str]


class JobTable:
    """Job id -> tracked open job, with totals per (vault, resource type, region, account)
    and per (account, region); at most `max_accounts` accounts by name (None: no cap)."""

    def __init__(self, finished_memory: int = 100_000, *,
                 max_accounts: int | None = None) -> None:
        self._open: dict[str, TrackedJob] = {}
        self._finished: dict[str, str] = {}
        self._finished_order: deque[str] = deque()
        self._finished_memory = finished_memory
        self._groups: dict[GroupKey, list[int]] = {}  # key -> [jobs, bytes]
        self._scopes: dict[ScopeKey, list[int]] = {}  # (account, region) -> [jobs, bytes]
        self._jobs = 0
        self._bytes = 0
        self._max_accounts = max_accounts
        self._labels: dict[str, str] = {}  # account -> itself, or OTHER past the cap
        self._named = 0
        self._folded: list[str] = []

    def apply(self, event: JobEvent) -> Transition | None:
        """Apply one event; None when it changes nothing (duplicate, stale, not a job)."""
        job_id, rank = event.job_id, RANK.get(event.state or "")
        if job_id is None or rank is None or event.kind not in TRACKED_KINDS:
            return None
        job = self._open.get(job_id)
        if job is None:
            return None if job_id in self._finished else self._start(event, job_id, rank)
        if job.kind != event.kind:
            return None
        return self._update(job, event, rank)

    def _update(self, job: TrackedJob, event: JobEvent, rank: int) -> Transition | None:
        """An event of an open job: fold it in; a final state finishes the job."""
        previous, size, group = job.state, job.size_bytes or 0, job.group
        named = job.account is None and event.account is not None
        if named:  # the first event that says whose job it is
            job.account = self.account_label(event.account)
            regroup(job)
        changed = merge(job, event, rank) or named
        if rank == FINAL:  # an open job takes any final state: it is finished now
            return self._finish(job, previous, size, group)
        if not changed:
            return None
        if job.kind == "backup_job" and (job.size_bytes != size or job.group != group):
            self._add(group, -1, -size)
            self._add(job.group, 1, job.size_bytes or 0)
        return Transition(job=job, previous_state=previous, state=job.state, new=False,
                          finished=False)

    def _finish(self, job: TrackedJob, previous: str, size: int, group: GroupKey) -> Transition:
        """An open job reached a final state: forget it whole, remember how it ended."""
        del self._open[job.job_id]
        self._remember(job.job_id, job.state)
        if job.kind == "backup_job":  # counted in its group, at its size, until now
            self._add(group, -1, -size)
        return Transition(job=job, previous_state=previous, state=job.state, new=False,
                          finished=True)

    def set_size(self, job_id: str, size: int) -> bool:
        """Give an open job a size learned elsewhere (DescribeTable), unless an event gave one."""
        job = self._open.get(job_id)
        if job is None or job.size_rank != NO_SIZE or size < 0 or size == job.size_bytes:
            return False
        if job.kind == "backup_job":
            self._add(job.group, 0, size - (job.size_bytes or 0))
        job.size_bytes = size
        return True

    def wants_size(self, job_id: str) -> bool:
        """Whether a size lookup for this job could still change anything: it is open and
        no event gave it a size."""
        job = self._open.get(job_id)
        return job is not None and job.size_rank == NO_SIZE

    def get(self, job_id: str) -> TrackedJob | None:
        """The open job with this id, else None (finished jobs are not kept whole)."""
        return self._open.get(job_id)

    def finished_state(self, job_id: str) -> str | None:
        """The terminal state of a remembered finished job, else None."""
        return self._finished.get(job_id)

    def open_jobs(self, kind: str | None = None) -> list[TrackedJob]:
        """Every open job, or those of one kind."""
        return [j for j in self._open.values() if kind is None or j.kind == kind]

    def largest(self, n: int) -> list[TrackedJob]:
        """The `n` open backup jobs with the most bytes, largest first (then oldest first)."""
        jobs = (j for j in self._open.values() if j.kind == "backup_job")
        return heapq.nsmallest(n, jobs, key=lambda j: (-(j.size_bytes or 0), j.started, j.job_id))

    def totals(self) -> dict[GroupKey, Totals]:
        """Open backup jobs and bytes per group (groups that emptied stay, at zero)."""
        return {key: Totals(jobs, size) for key, (jobs, size) in self._groups.items()}

    def scope_totals(self) -> dict[ScopeKey, Totals]:
        """Open backup jobs and bytes per (account, region), where AWS's limits apply."""
        return {key: Totals(jobs, size) for key, (jobs, size) in self._scopes.items()}

    def scope_total(self, key: ScopeKey) -> Totals:
        """Open backup jobs and bytes of one (account, region)."""
        jobs, size = self._scopes.get(key, (0, 0))
        return Totals(jobs, size)

    def account_label(self, account: str | None) -> str | None:
        """The account a job of `account` counts under: itself while fewer than `max_accounts`
        are tracked by name (or it is one of them), else OTHER."""
        if account is None:
            return None
        label = self._labels.get(account)
        if label is not None:
            return label
        if self._max_accounts is None or self._named < self._max_accounts:
            self._named += 1
            label = intern(account)
        else:
            label = OTHER
            if len(self._labels) >= ACCOUNT_MEMORY:
                return label  # remembered no more: counted, not named again
            self._folded.append(account)
        self._labels[account] = label
        return label

    def take_folded(self) -> list[str]:
        """Accounts folded into OTHER since the last call (each is handed out once)."""
        folded, self._folded = self._folded, []
        return folded

    def running_jobs_total(self) -> int:
        """Open backup jobs, all groups."""
        return self._jobs

    def running_bytes_total(self) -> int:
        """Bytes of open backup jobs, all groups (a job of unknown size counts 0)."""
        return self._bytes

    def __len__(self) -> int:
        return len(self._open)

    def diff(self, listed_open: Iterable[JobEvent], *, region: str | None = None,
             accounts: Collection[str] | None = None) -> ReconcilePlan:
        """Compare with a ListBackupJobs snapshot of open backup jobs (as JobEvents).

        Listed jobs that applying would change become upserts; open backup jobs of `region`
        (any region when None) and of `accounts` (those the listing covered; any when None)
        that the listing lacks are `vanished`: look them up and apply what AWS says (a
        COMPLETED event we never received). A job of no known account is anyone's.
        """
        # one entry per job: a listing paged while jobs move may name a job twice; the
        # entry listed last is the one that stands (applying both would depend on order)
        latest = {event.job_id: event for event in listed_open
                  if event.job_id is not None and event.kind == "backup_job"}
        upserts = [event for event in latest.values() if self._would_change(event)]
        vanished = [job.job_id for job in self._open.values()
                    if job.kind == "backup_job" and job.job_id not in latest
                    and (region is None or job.region in (None, region))
                    and (accounts is None or job.account is None or job.account in accounts)]
        return ReconcilePlan(upserts, vanished)

    def _would_change(self, event: JobEvent) -> bool:
        rank = RANK.get(event.state or "")
        if event.job_id is None or rank is None or event.job_id in self._finished:
            return False
        job = self._open.get(event.job_id)
        if job is None:
            return True
        named = job.account is None and event.account is not None
        return job.kind == event.kind and (named or merge(copy(job), event, rank))

    def _start(self, event: JobEvent, job_id: str, rank: int) -> Transition:
        job = new_job(event, job_id, rank, self.account_label(event.account))
        finished = rank == FINAL
        if finished:
            self._remember(job_id, job.state)
        else:
            self._open[job_id] = job
            if job.kind == "backup_job":
                self._add(job.group, 1, job.size_bytes or 0)
        return Transition(job=job, previous_state=None, state=job.state, new=True,
                          finished=finished)

    def _remember(self, job_id: str, state: str) -> None:
        self._finished[job_id] = state
        self._finished_order.append(job_id)
        if len(self._finished_order) > self._finished_memory:
            self._finished.pop(self._finished_order.popleft(), None)

    def _add(self, key: GroupKey, jobs: int, size: int) -> None:
        """Count `jobs` more open backup jobs and `size` more bytes in a group (or fewer)."""
        counts = self._groups.setdefault(key, [0, 0])
        counts[0] += jobs
        counts[1] += size
        scope = self._scopes.setdefault((key[3], key[2]), [0, 0])
        scope[0] += jobs
        scope[1] += size
        self._jobs += jobs
        self._bytes += size
