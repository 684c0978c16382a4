"""The events capability's `/status` sections: the limit with its levels (overall and per
(account, region)), and the running jobs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from daemon.config.settings import Settings
from daemon.core import arns
from daemon.core.events.thresholds import Level
from daemon.core.events.tracker import JobTable, TrackedJob
from daemon.kernel.status import StatusBoard
from daemon.kernel.status_model import (
    MAX_GROUPS,
    MAX_JOBS,
    AccountLevel,
    JobGroup,
    Jobs,
    LevelName,
    Limit,
    RunningJob,
)
from daemon.obs.collector import ScopeLevel


def register(board: StatusBoard, tracker: JobTable, level: Callable[[], int],
             settings: Settings, *, levels: Callable[[], Sequence[ScopeLevel]] = list,
             limit_bytes: int | None = None) -> None:
    """Add the `limit` and `jobs` sections, read from the tracker at request time: `level` is
    the highest level, `levels` each (account, region)'s, `limit_bytes` the default limit
    (`limits:`; `settings.limit_bytes` when None)."""
    limit = settings.limit_bytes if limit_bytes is None else limit_bytes
    board.add("limit", lambda: limit_section(tracker, Level(level()), levels(), settings,
                                             limit))
    board.add("jobs", lambda: jobs_section(tracker))


def limit_section(tracker: JobTable, level: Level, levels: Sequence[ScopeLevel],
                  settings: Settings, limit: int) -> Limit:
    """The bytes backing up now against the limit, the level and where its marks are, and
    the same per (account, region)."""
    scopes = tracker.scope_totals()
    by_account = []
    for one in levels[:MAX_GROUPS]:
        jobs, size = scopes.get((one.account, one.region), (0, 0))
        by_account.append(AccountLevel(
            account=one.account, region=one.region, running_jobs=jobs, running_bytes=size,
            limit_bytes=one.limit_bytes, level=_LEVELS[Level(one.level)]))
    return Limit(limit_bytes=limit, running_bytes=tracker.running_bytes_total(),
                 running_jobs=tracker.running_jobs_total(),
                 level=_LEVELS[level],
                 warning_ratio=settings.warning_ratio, critical_ratio=settings.critical_ratio,
                 warning_bytes=int(limit * settings.warning_ratio),
                 critical_bytes=int(limit * settings.critical_ratio), by_account=by_account)


def jobs_section(tracker: JobTable) -> Jobs:
    """The running jobs: the count, the largest few, and the largest groups."""
    groups = sorted(tracker.totals().items(), key=lambda kv: (-kv[1].bytes, -kv[1].jobs, kv[0]))
    return Jobs(
        running=tracker.running_jobs_total(), running_bytes=tracker.running_bytes_total(),
        largest=[_job(j) for j in tracker.largest(MAX_JOBS)],
        by_group=[JobGroup(vault=v, resource_type=t, region=r, account=a, jobs=g.jobs,
                           bytes=g.bytes)
                  for (v, t, r, a), g in groups[:MAX_GROUPS]],
        groups_total=len(groups))


def _job(job: TrackedJob) -> RunningJob:
    return RunningJob(job_id=job.job_id, resource=arns.short_name(job.resource_arn) or "unknown",
                      resource_arn=job.resource_arn, resource_type=job.resource_type,
                      vault=job.vault, region=job.region, account=job.account,
                      state=job.state,
                      size_bytes=job.size_bytes, started=job.started)


_LEVELS: dict[Level, LevelName] = {Level.OK: "ok", Level.WARNING: "warning", Level.CRITICAL: "critical"}
