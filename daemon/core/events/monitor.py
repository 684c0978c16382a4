"""The CloudWatch series: which open backup jobs they count, and the series they become (pure).

`Scope` is `monitor.resource_types` and `monitor.states`: by default every type and every open
state, and then the tracker's incremental totals are the answer as they are. A narrower scope
counts the open backup jobs one by one (once per publishing interval). Groups the tracker
knows stay in the answer at zero when no job of theirs is counted, so an alarm on a group
sees it drop instead of going silent. A job whose resource type no event has said yet is not
counted by a scope that names types.

`series` builds what one PutMetricData carries: `ConcurrentBackupBytes` and `RunningBackupJobs`
per (Region, BackupType, VaultName, AccountId), per AccountId alone (one alarm per account
needs no metric math), and in all without dimensions; with `sample_compatible`, also
`BackupJobSize` per (Region, BackupType, VaultName), the metric AWS's concurrent backup
monitor sample published (the same bytes of every account, the sample's name and dimensions).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal, NamedTuple

from daemon.core.events.job_state import GroupKey, TrackedJob
from daemon.core.events.models import OPEN_STATES
from daemon.core.events.tracker import JobTable, Totals

Unit = Literal["Bytes", "Count"]
SAMPLE_METRIC = "BackupJobSize"


class Series(NamedTuple):
    """One datum: metric name, value, unit and dimensions (name, value) in order."""

    name: str
    value: float
    unit: Unit
    dims: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which open backup jobs count: of these resource types (empty: any) in these states."""

    resource_types: frozenset[str] = frozenset()
    states: frozenset[str] = OPEN_STATES

    @classmethod
    def of(cls, resource_types: Iterable[str], states: Iterable[str]) -> Scope:
        return cls(frozenset(resource_types), frozenset(states))

    def counts_all(self) -> bool:
        """Every open backup job counts: the tracker's totals are the answer."""
        return not self.resource_types and self.states >= OPEN_STATES

    def admits_type(self, resource_type: str) -> bool:
        return not self.resource_types or resource_type in self.resource_types

    def admits(self, job: TrackedJob) -> bool:
        return self.admits_type(job.group[1]) and job.state in self.states


def scoped_totals(table: JobTable, scope: Scope) -> dict[GroupKey, Totals]:
    """Open backup jobs and bytes per group, counting only the jobs `scope` admits."""
    known = table.totals()
    if scope.counts_all():
        return known
    counts = {key: [0, 0] for key in known if scope.admits_type(key[1])}
    for job in table.open_jobs("backup_job"):
        if scope.admits(job):
            group = counts.setdefault(job.group, [0, 0])
            group[0] += 1
            group[1] += job.size_bytes or 0
    return {key: Totals(jobs, size) for key, (jobs, size) in counts.items()}


def series(totals: Mapping[GroupKey, Totals], *, sample_compatible: bool = False,
           ) -> list[Series]:
    """The datums of one moment: per group, the sample's per (vault, type, region) when asked,
    per account, then the totals of all these groups."""
    out: list[Series] = []
    accounts: dict[str, list[int]] = {}
    samples: dict[tuple[str, str, str], int] = {}
    for (vault, rtype, region, account), group in sorted(totals.items()):
        dims = (("Region", region), ("BackupType", rtype), ("VaultName", vault),
                ("AccountId", account))
        out.append(Series("ConcurrentBackupBytes", float(group.bytes), "Bytes", dims))
        out.append(Series("RunningBackupJobs", float(group.jobs), "Count", dims))
        counts = accounts.setdefault(account, [0, 0])
        counts[0] += group.jobs
        counts[1] += group.bytes
        samples[vault, rtype, region] = samples.get((vault, rtype, region), 0) + group.bytes
    if sample_compatible:  # the sample's own dimensions: every account's bytes of a group
        out.extend(Series(SAMPLE_METRIC, float(size), "Bytes",
                          (("Region", region), ("BackupType", rtype), ("VaultName", vault)))
                   for (vault, rtype, region), size in sorted(samples.items()))
    for account, (jobs, size) in sorted(accounts.items()):
        only = (("AccountId", account),)
        out.append(Series("ConcurrentBackupBytes", float(size), "Bytes", only))
        out.append(Series("RunningBackupJobs", float(jobs), "Count", only))
    out.append(Series("ConcurrentBackupBytes", float(sum(g.bytes for g in totals.values())),
                      "Bytes", ()))
    out.append(Series("RunningBackupJobs", float(sum(g.jobs for g in totals.values())),
                      "Count", ()))
    return out
