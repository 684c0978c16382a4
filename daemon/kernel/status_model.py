"""The `/status` document as models: what each section holds, its bounds, one time format.

`/status` is an API: the status page, `ddb-backupd status|get` and scripts read it. Every
section a component registers on the board is validated through its model here and served
by it, so the document cannot drift from its schema (`docs/status.schema.json`, generated
from these models: `python scripts/readme_tables.py`). Every time is RFC 3339 in UTC with
`Z` (`daemon.core.clock.rfc3339`), whatever the producer handed in. Every list is bounded
(the `MAX_*` limits below, with the total beside it), so the document stays small however
many tables, jobs or tasks the estate has.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from daemon.core.clock import rfc3339

MAX_JOBS = 20  # running jobs listed, largest first
MAX_GROUPS = 50  # (vault, resource type, region) groups listed, largest first
MAX_HISTORY = 120  # samples of the running bytes: one hour at one sample per 30 s
MAX_ALERTS = 50  # recent alerts, newest first
MAX_QUEUED_TASKS = 50  # waiting tasks listed, oldest first
MAX_RECENT_TASKS = 1000  # finished tasks kept (tasks.recent_limit, at most 1000)
MAX_LATE_TABLES = 20  # late tables listed per schedule, stalest first
MAX_GAP_TABLES = 50  # tables listed per coverage gap

Timestamp = Annotated[
    AwareDatetime,
    PlainSerializer(rfc3339, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time",
                    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$",
                    "description": "RFC 3339 in UTC, whole seconds: 2026-12-04T13:08:15Z."}),
]
LevelName = Literal["ok", "warning", "critical"]
Fact = str | int | float | bool | None


class Part(BaseModel):
    """A part of the document: unknown fields are errors, so a producer cannot drift from it.
    Built at the first `/status` (`defer_build`), not on import: not on the way to ready, and
    not in the memory of a daemon nobody asks."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Leader(Part):
    """Leader election: whether this replica leads, who does, and who this replica is."""

    leader: bool = Field(description="True while this replica holds the lease (always with "
                         "election off).")
    enabled: bool = Field(description="Whether leader election is on.")
    identity: str = Field(description="This replica's holder identity.")
    holder: str | None = Field(description="The identity holding the lease, if any.")


class AccountLevel(Part):
    """One (account, region): its running jobs and bytes, its limit and its level."""

    account: str = Field(description="The account id, or `other` past `max_accounts`.")
    region: str
    running_jobs: int
    running_bytes: int
    limit_bytes: int = Field(description="Its limit: the most specific `limits:` entry.")
    level: LevelName


class Limit(Part):
    """The bytes backing up now against the concurrent-backup limit, and the alert level."""

    limit_bytes: int = Field(description="The concurrent-backup limit of every (account, "
                             "region) without an override (`limits:`).")
    running_bytes: int = Field(description="Bytes of every running backup job now.")
    running_jobs: int = Field(description="Running backup jobs now.")
    level: LevelName = Field(description="Threshold level, with hysteresis (as the alerts say).")
    warning_ratio: float
    critical_ratio: float
    warning_bytes: int = Field(description="limit_bytes * warning_ratio.")
    critical_bytes: int = Field(description="limit_bytes * critical_ratio.")
    by_account: list[AccountLevel] = Field(
        default_factory=list, max_length=MAX_GROUPS,
        description="Level and limit per (account, region) with jobs seen, where AWS's limits "
        "apply (`limits:`); `level` above is the highest of them.")


class HistoryPoint(Part):
    at: Timestamp
    running_bytes: int
    running_jobs: int


class History(Part):
    """Samples of the running bytes, oldest first, kept in memory (lost on restart)."""

    interval_seconds: float = Field(description="Seconds between two samples.")
    points: list[HistoryPoint] = Field(max_length=MAX_HISTORY)


class RunningJob(Part):
    """One running backup job, as the tracker knows it."""

    job_id: str
    resource: str = Field(description="The table's (or DB's) name, from its ARN.")
    resource_arn: str | None
    resource_type: str | None
    vault: str | None
    region: str | None
    account: str | None = None
    state: str
    size_bytes: int | None = Field(description="Counted size (the event's, else the table's).")
    started: Timestamp


class JobGroup(Part):
    vault: str
    resource_type: str
    region: str
    account: str | None = Field(None, description="The account id (`other` past "
                                "`max_accounts`).")
    jobs: int
    bytes: int


class Jobs(Part):
    """Running backup jobs: the total, the largest few, and the totals per group."""

    running: int = Field(description="Running backup jobs, all of them.")
    running_bytes: int = Field(description="Their bytes, all of them.")
    largest: list[RunningJob] = Field(max_length=MAX_JOBS,
                                      description="The largest running jobs, largest first.")
    by_group: list[JobGroup] = Field(max_length=MAX_GROUPS,
                                     description="Totals per (vault, resource type, region, account), "
                                     "largest first.")
    groups_total: int = Field(description="Groups in all (by_group lists the largest).")


class SlotProgress(Part):
    """The slot whose start window is open."""

    slot: Timestamp
    deadline: Timestamp
    done: int
    pending: int
    in_flight: int
    counts: dict[str, int] = Field(description="Outcomes so far (started, completed, deferred, "
                                   "failed, ...).")


class SlotResult(Part):
    """How the last closed slot ended."""

    slot: Timestamp
    tables_done: int
    missed: int
    counts: dict[str, int]


class Schedule(Part):
    """One schedule of the scheduler."""

    expression: str
    timezone: str | None
    engine: str
    tables_selected: int
    next_run: Timestamp | None
    last_success: Timestamp | None = Field(
        description="Slot of the schedule's newest backup seen completed (as "
        "backupd_schedule_last_success_timestamp_seconds).")
    missed_slots: int = Field(description="Slots missed since start (nobody ran them).")
    current_slot: SlotProgress | None
    last_result: SlotResult | None


class TableAge(Part):
    """One table's freshness: its newest good backup and how old it is."""

    table: str
    last_backup: Timestamp | None = Field(description="Its newest good backup (None: none "
                                          "known in the listed window or since).")
    since: Timestamp = Field(description="What its age counts from: the newest good backup, "
                             "or its baseline (the window's start, or its creation) without one.")
    age_seconds: float


class ScheduleFreshness(Part):
    """How fresh one schedule's tables are."""

    interval_seconds: float = Field(description="The schedule's expected interval.")
    tables: int
    late: int = Field(description="Tables older than late_factor x the interval.")
    without_backup: int = Field(description="Tables with no good backup known.")
    oldest: TableAge | None = Field(description="The stalest table.")
    late_tables: list[TableAge] = Field(max_length=MAX_LATE_TABLES,
                                        description="The late tables, stalest first.")


class Freshness(Part):
    """Each schedule's tables and the age of their newest good backups (read from AWS at
    start, moved forward by every completion)."""

    seeded: bool = Field(description="Whether the first reading from AWS is done.")
    seeded_at: Timestamp | None
    seed_seconds: float | None
    window_start: Timestamp | None = Field(description="Start of the listed window.")
    listed_until: Timestamp | None
    lookback_seconds: float
    late_factor: float
    tables_with_backup: int
    schedules: dict[str, ScheduleFreshness] = Field(description="Empty until seeded.")


class CoverageGap(Part):
    count: int = Field(description="Tables in the gap, all of them.")
    tables: list[str | TableAge] = Field(max_length=MAX_GAP_TABLES, description="The first "
                                         "ones: names, or their ages (rpo_breached).")


class Undecided(Part):
    tags_unknown: int
    pitr_unknown: int


class Coverage(Part):
    """The discovered tables nothing protects, by gap: unselected (no schedule or plan selects
    them), pitr_off (a rule needs PITR), rpo_breached (newest good backup older than the RPO)."""

    evaluated_at: Timestamp | None
    tables: int | None = Field(description="Tables discovered (None before the first pass).")
    rpo_seconds: float | None
    selectors: list[str]
    gaps: dict[str, CoverageGap] = Field(description="Empty before the first pass.")
    undecided: Undecided | None


class BackupPlan(Part):
    """One AWS Backup plan kept as configured (the plans reconciler)."""

    state: str
    cause: str | None = None
    plan_id: str | None = None
    drifting: bool | None = None
    differences: list[str] = Field(default_factory=list)
    steps: list[str] = Field(default_factory=list)
    applied: bool | None = None
    notes: list[str] = Field(default_factory=list)
    last_checked: Timestamp | None = None
    last_change: Timestamp | None = None
    error: str | None = None


class TaskLine(Part):
    """One restore or export."""

    key: str
    kind: Literal["restore", "export"]
    rule: str
    subject: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled", "skipped"]
    phase: str
    detail: str | None
    queued_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None
    facts: dict[str, Fact] = Field(description="What the task learned (target, job ids, ...).")


class Tasks(Part):
    """Restores and exports: running, waiting, and the recently finished."""

    running: list[TaskLine]
    queued: list[TaskLine] = Field(max_length=MAX_QUEUED_TASKS)
    queued_total: int
    recent: list[TaskLine] = Field(max_length=MAX_RECENT_TASKS, description="Newest first.")


class AlertLine(Part):
    at: Timestamp = Field(description="When the alert was raised.")
    severity: Literal["info", "warning", "critical"]
    event: str
    subject: str
    delivery: Literal["pending", "published", "dropped"]


class Alerts(Part):
    """Alerts raised recently, newest first, and how their SNS delivery went."""

    pending: int = Field(description="Alerts waiting to be published.")
    recent: list[AlertLine] = Field(max_length=MAX_ALERTS)


class Reconcile(Part):
    last_success: Timestamp | None
    mode: Literal["own", "organization", "member_roles"] = Field(
        "own", description="How each pass lists: `own` (the caller's account), `organization` "
        "(cross-account monitoring, ByAccountId per account), `member_roles` (each account "
        "through its role).")
    accounts: list[str] | Literal["own"] = Field(
        "own", description="The accounts each pass lists: `own` (the caller's), else those of "
        "`accounts:` (`*`: every member account, through cross-account monitoring).")
    last_pass: dict[str, str] = Field(
        default_factory=dict, description="Each account of the last successful pass: `ok`, "
        "or why it was skipped (its role refused, its listing failed); a skipped account's "
        "jobs stay as they were until a pass lists it.")


class ComponentHealth(Part):
    ready: bool
    detail: str | None


class StatusDocument(Part):
    """GET /status. A section this daemon does not run (no scheduler, no plans) is null."""

    version: str
    generated_at: Timestamp = Field(description="When this document was made.")
    uptime_seconds: float
    ready: bool = Field(description="Every component ready (what /readyz says).")
    leader: Leader | None = None
    limit: Limit | None = None
    history: History | None = None
    jobs: Jobs | None = None
    schedules: dict[str, Schedule] | None = None
    freshness: Freshness | None = None
    member_freshness: dict[str, Freshness] | None = Field(
        None, description="Freshness of the schedules that list member accounts, by account "
        "(their schedules named <schedule>@<account>).")
    coverage: Coverage | None = None
    backup_plans: dict[str, BackupPlan] | None = None
    tasks: Tasks | None = None
    alerts: Alerts | None = None
    reconcile: Reconcile | None = None
    member_accounts: dict[str, str] | None = Field(
        None, description="Member accounts whose role the daemon assumed (organization."
        "role_arn_template): `ok`, or why the role could not be assumed.")
    components: dict[str, ComponentHealth] = Field(description="Readiness of every component.")
    errors: dict[str, str] = Field(default_factory=dict, description="Sections that could not "
                                   "be reported, and why (a bug: never in a healthy daemon).")


SECTIONS = frozenset(StatusDocument.model_fields) - {
    "version", "generated_at", "uptime_seconds", "ready", "components", "errors"}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of GET /status, as served (docs/status.schema.json)."""
    schema = StatusDocument.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
            "title": "ddb-backupd GET /status"}
