"""Export decisions (pure): what to export, where to, under which marker, inside which window.

An export is identified by a token derived from (rule, resource, source, time), never by
memory: the same completed backup or the same schedule slot always gives the same token,
which is DynamoDB's `ClientToken`, part of RDS's `ExportTaskIdentifier`, and the name of
the daemon's marker object. PITR windows are checked here so a table without PITR, or a
window that has slid out of it, is a sentence naming the table and the fix, not a crash.
"""

from __future__ import annotations

import hashlib
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from daemon.core import arns
from daemon.core.errors import PermanentError
from daemon.core.tasks.naming import compile_pattern
from daemon.core.tasks.restore_triggers import backup_ms, recovery_point_kind

ExportKind = Literal["dynamodb", "rds"]
MIN_INCREMENTAL = timedelta(minutes=15)
MAX_INCREMENTAL = timedelta(hours=24)
TERMINAL = frozenset({"COMPLETED", "COMPLETE", "FAILED", "CANCELED", "CANCELLED"})
SUCCEEDED = frozenset({"COMPLETED", "COMPLETE"})
KEY_PARTS = ("prefix", "name", "account", "region", "job_id", "yyyy", "mm", "dd")
KEY_PRESETS = {
    "default": "{prefix}/{name}/{yyyy}/{mm}/{dd}/",
    # the sample's Hive partitions: Athena tables partitioned by table, date and job
    "hive": "{prefix}/table={name}/year={yyyy}/month={mm}/day={dd}/job={job_id}/",
}


class ExportRuleLike(Protocol):
    """What the decisions need of an export rule (config.tasks.ExportRule has it)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> ExportKind: ...
    @property
    def source_pattern(self) -> str: ...
    @property
    def on_backup(self) -> bool: ...
    @property
    def prefix(self) -> str: ...
    @property
    def key_template(self) -> str: ...


@dataclass(frozen=True, slots=True)
class ExportPlan:
    """One export to run. `source` is the recovery point that may be deleted on success."""

    rule: str
    kind: ExportKind
    name: str  # table name, or DB instance / cluster identifier
    resource_arn: str
    source: str | None
    at: datetime
    token: str
    key_prefix: str
    vault: str | None = None
    trigger: Literal["backup", "schedule"] = "backup"


def export_token(rule: str, resource_arn: str, source: str | None, at: datetime) -> str:
    """32 hex characters, the same for the same (rule, resource, source, time)."""
    text = "|".join((rule, resource_arn, source or "-", at.astimezone(UTC).isoformat()))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def key_template_problem(template: str) -> str | None:
    """Why `template` is not a key template (unknown or unnamed parts), or None."""
    try:
        fields = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(template)
                  if f is not None]
    except ValueError as exc:
        return f"not a key template: {exc}"
    for field, spec, conv in fields:
        if field not in KEY_PARTS or spec or conv:
            return (f"unknown part {{{field}{'!' + conv if conv else ''}"
                    f"{':' + spec if spec else ''}}}: use {', '.join(f'{{{p}}}' for p in KEY_PARTS)}")
    return None


def key_prefix(prefix: str, name: str, at: datetime, *,
               template: str = KEY_PRESETS["default"], resource_arn: str | None = None,
               job_id: str | None = None, token: str = "") -> str:
    """The S3 key prefix of an export: `template` with its parts filled in (the date of the
    export's time in UTC; `{job_id}` the backup job, else the export's token), empty
    segments dropped, ending in `/`."""
    at = at.astimezone(UTC)
    parsed = arns.parse(resource_arn)
    parts = {"prefix": prefix.strip("/"), "name": name,
             "account": parsed.account if parsed else "", "region": parsed.region if parsed else "",
             "job_id": job_id or token, "yyyy": f"{at.year:04d}", "mm": f"{at.month:02d}",
             "dd": f"{at.day:02d}"}
    key = template.format_map(parts)
    return "/".join(p for p in key.split("/") if p) + "/"


def rds_task_identifier(rule: str, token: str) -> str:
    """ExportTaskIdentifier: a letter first, letters, digits and single hyphens, <= 60."""
    clean = re.sub(r"-+", "-", re.sub(r"[^A-Za-z0-9]", "-", rule)).strip("-")[:30]
    return f"backupd-{clean}-{token[:20]}" if clean else f"backupd-{token[:20]}"


def plan(rule: ExportRuleLike, resource_arn: str, source: str | None, at: datetime, *,
         vault: str | None = None, job_id: str | None = None,
         trigger: Literal["backup", "schedule"] = "backup") -> ExportPlan | None:
    """The plan of `rule` for this resource, or None when the rule does not cover it."""
    name = arns.table_name(resource_arn) if rule.kind == "dynamodb" else arns.rds_identifier(
        resource_arn)
    if name is None or compile_pattern(rule.source_pattern).search(name) is None:
        return None
    at = at.astimezone(UTC)
    token = export_token(rule.name, resource_arn, source, at)
    return ExportPlan(rule.name, rule.kind, name, resource_arn, source, at, token,
                      key_prefix(rule.prefix, name, at, template=rule.key_template,
                                 resource_arn=resource_arn, job_id=job_id, token=token),
                      vault, trigger)


def plans_for_backup(resource_arn: str, recovery_point_arn: str, created: datetime,
                     vault: str | None, rules: Iterable[ExportRuleLike], *,
                     job_id: str | None = None) -> list[ExportPlan]:
    """Exports a completed backup triggers: DynamoDB backups and RDS snapshots only."""
    kind = recovery_point_kind(recovery_point_arn)
    out: list[ExportPlan] = []
    for rule in rules:
        if not rule.on_backup:
            continue
        fits = kind in ("dynamodb-backup", "aws-backup") if rule.kind == "dynamodb" else \
            kind in ("rds-snapshot", "rds-cluster-snapshot")
        found = plan(rule, resource_arn, recovery_point_arn, backup_ms(created),
                     vault=vault, job_id=job_id) if fits else None
        if found is not None:
            out.append(found)
    return out


def needs_pitr(rules: Iterable[ExportRuleLike], table: str) -> bool:
    """Whether an export rule covers `table`: DynamoDB exports read from PITR, so it must be on."""
    return any(rule.kind == "dynamodb" and compile_pattern(rule.source_pattern).search(table)
               for rule in rules)


@dataclass(frozen=True, slots=True)
class Pitr:
    """A table's point-in-time recovery as DescribeContinuousBackups reports it."""

    enabled: bool
    earliest: datetime | None = None
    latest: datetime | None = None


def check_export_time(table: str, at: datetime, pitr: Pitr) -> Literal["ok", "wait"]:
    """`ok` to export at `at`, `wait` while PITR has not caught up; else PermanentError."""
    if not pitr.enabled:
        raise PermanentError(f"table {table} has point-in-time recovery disabled; exports need "
                             "it: enable PointInTimeRecoverySpecification on the table")
    if pitr.earliest is not None and at < pitr.earliest:
        raise PermanentError(f"export time {at.isoformat()} of table {table} has slid out of "
                             f"its PITR window (earliest restorable {pitr.earliest.isoformat()})")
    if pitr.latest is not None and at > pitr.latest:
        return "wait"
    return "ok"


def incremental_window(table: str, previous_to: datetime | None, now: datetime, pitr: Pitr,
                       first_seconds: float) -> tuple[datetime, datetime] | None:
    """(from, to) of the next incremental export, None when under 15 min has accrued.

    Windows continue from the previous export's end, are at most 24 h (AWS's limit; a
    backlog is caught up window by window) and must start inside the PITR window.
    """
    check_export_time(table, now, Pitr(pitr.enabled))
    latest = min(now, pitr.latest) if pitr.latest else now
    start = previous_to or latest - timedelta(seconds=first_seconds)
    if pitr.earliest is not None and start < pitr.earliest:
        raise PermanentError(
            f"incremental export of table {table} would start at {start.isoformat()}, before "
            f"its PITR window (earliest restorable {pitr.earliest.isoformat()}): the window "
            "has slid out; run a full export to start a new chain")
    end = min(latest, start + MAX_INCREMENTAL)
    if end - start < MIN_INCREMENTAL:
        return None
    return start, end
