"""Settings of the backup scheduler and retention (owned by the scheduler feature).

Every schedule is validated as AWS would validate it, field by field, so `check-config`
lists each error where it belongs (`schedules.0.expression: ...`).
"""

from __future__ import annotations

import re
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from daemon.core.scheduling.planner import Selector
from daemon.core.scheduling.retention import RetentionPolicy
from daemon.core.scheduling.schedule import Expression, ScheduleError, load_zone, parse_expression

Engine = Literal["dynamodb", "aws-backup"]
NAME_RE = re.compile(r"[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*")
ACCOUNT_RE = re.compile(r"[0-9]{12}")
ACCOUNT = "{account}"  # in iam_role_arn / backup_vault of a schedule with accounts
MEMBER_ROLE_RE = re.compile(r"arn:aws[a-z-]*:iam::\{account\}:role/[A-Za-z0-9_+=,.@/-]+")
AWS_BACKUP_MIN_WINDOW = 60


class SchedulerSettings(BaseModel):
    """Scheduler-wide knobs."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Run the scheduler and retention on the leader.")
    backup_name_prefix: str = Field(
        "backupd", pattern=r"^[A-Za-z0-9_.]{1,40}$",
        description="First part of native backup names: <prefix>-<schedule>-<YYYYMMDDHHMM>. "
        "Backups with another prefix are not the daemon's and retention leaves them alone.")
    tick_seconds: float = Field(10.0, ge=0.5, le=300,
                                description="How often the scheduler looks for due slots.")
    discovery_interval_seconds: float = Field(
        300.0, ge=1, description="How often ListTables (+ sizes, tags) refreshes the table list.")
    retention_interval_seconds: float = Field(
        300.0, ge=1, description="How often retention runs (it also runs after each slot).")
    max_deletes_per_run: int = Field(
        100, ge=0, description="Safety floor: at most this many deletions per schedule per run.")
    api_calls_per_second: float = Field(
        10.0, gt=0, description="Rate limit of the scheduler's control-plane calls (AWS quotas "
        "such as CreateBackup's are low: stay well below throttling).")
    concurrency: int = Field(8, ge=1, le=256, description="Control-plane calls in flight at once.")
    spread_seconds: float = Field(
        300.0, ge=0, description="Starts of one slot are spread (stable jitter per table) over "
        "at most this long, half the start window and half the interval.")
    admission_ratio: float | None = Field(
        None, gt=0, le=1, description="Start a backup only while running bytes plus its size "
        "stay under this share of limit_bytes (default: critical_ratio).")
    admission_order: Literal["largest-first", "fifo"] = Field(
        "largest-first", description="Which waiting backup goes first when room frees up.")
    follow_timeout_seconds: float = Field(
        3600.0, gt=0, description="How long a native backup may stay CREATING before alerting.")


class ScheduleSpec(BaseModel):
    """One backup schedule: when, which tables, how (engine) and how long to keep."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100,
                      description="Unique name; part of backup names and metric labels.")
    expression: str = Field(description="AWS cron(...) or rate(...) expression.")
    timezone: str = Field("UTC", description="IANA zone for cron() and retention periods.")
    tables: list[str] = Field(default_factory=list, description="Table name globs (any matches).")
    table_regex: str | None = Field(None, description="Regex on table names (search).")
    tags: dict[str, str] = Field(default_factory=dict,
                                 description="Tag key=value pairs a table must all carry.")
    exclude: list[str] = Field(default_factory=list, description="Table name globs to skip.")
    engine: Engine = Field("dynamodb", description="dynamodb: CreateBackup; aws-backup: "
                           "StartBackupJob into a vault.")
    start_window_minutes: int = Field(
        60, ge=1, le=10080, description="A slot may start this long after its time (catch-up "
        "after downtime, admission waits); later it is counted missed.")
    complete_window_minutes: int | None = Field(
        None, ge=1, description="aws-backup: CompleteWindowMinutes of the job.")
    backup_vault: str | None = Field(
        None, description="aws-backup: the target vault. With accounts, the vault of that "
        "name in each member account; '{account}' in it is replaced by the member's id.")
    iam_role_arn: str | None = Field(
        None, description="aws-backup: role AWS Backup assumes. With accounts, a role of each "
        "member account: arn:aws:iam::{account}:role/NAME ('{account}' replaced by the "
        "member's id; AWS Backup takes only a role of the job's own account).")
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy,
                                       description="Which backups to keep.")
    enabled: bool = Field(True, description="A disabled schedule neither backs up nor prunes.")
    accounts: list[str] = Field(
        default_factory=list, description="Member accounts (12-digit ids) whose tables this "
        "schedule backs up and prunes, each through its role (organization.role_arn_template). "
        "Empty: the daemon's own account.")

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not NAME_RE.fullmatch(value):
            raise ValueError("use letters, digits, '_', '.' and single '-' between them "
                             "(it becomes part of DynamoDB backup names)")
        return value

    @field_validator("accounts")
    @classmethod
    def _valid_accounts(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if not ACCOUNT_RE.fullmatch(a)]
        if bad:
            raise ValueError(f"not 12-digit AWS account ids: {', '.join(bad)}")
        if len(set(value)) != len(value):
            raise ValueError("an account is listed twice")
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        try:
            load_zone(value)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("table_regex")
    @classmethod
    def _valid_regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value

    @field_validator("expression")
    @classmethod
    def _valid_expression(cls, value: str) -> str:
        try:
            parse_expression(value)  # the zone is checked on its own field
        except ScheduleError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if not (self.tables or self.table_regex or self.tags):
            raise ValueError("tables: choose tables with tables (globs), table_regex or tags "
                             "(tables: ['*'] selects every table)")
        if self.engine == "aws-backup":
            missing = [f for f in ("backup_vault", "iam_role_arn") if not getattr(self, f)]
            if missing:
                raise ValueError(f"{', '.join(missing)}: required by the aws-backup engine")
            self._per_account_names()
            if self.start_window_minutes < AWS_BACKUP_MIN_WINDOW:
                raise ValueError("start_window_minutes: AWS Backup needs at least 60")
        return self

    def _per_account_names(self) -> None:
        """With accounts, each member's job needs a role of that member (AWS Backup runs the
        job in the resource's account, with a role passed there): `{account}` in the role
        ARN's account field. Without accounts there is no member to substitute."""
        role, vault = str(self.iam_role_arn), str(self.backup_vault)
        if not self.accounts:
            if ACCOUNT in role or ACCOUNT in vault:
                raise ValueError("iam_role_arn, backup_vault: '{account}' names a member "
                                 "account's; this schedule lists no accounts")
            return
        if not MEMBER_ROLE_RE.fullmatch(role):
            raise ValueError(f"iam_role_arn: {role} is not a role of each member account: "
                             "with accounts write arn:aws:iam::{account}:role/NAME (AWS "
                             "Backup takes only a role of the account the job runs in)")

    def for_account(self, account: str) -> ScheduleSpec:
        """This schedule as it runs in member `account`: `{account}` in its role and vault
        replaced by the member's id."""
        update: dict[str, str] = {}
        if self.iam_role_arn is not None:
            update["iam_role_arn"] = self.iam_role_arn.replace(ACCOUNT, account)
        if self.backup_vault is not None:
            update["backup_vault"] = self.backup_vault.replace(ACCOUNT, account)
        return self.model_copy(update=update)

    def vault_and_role(self) -> tuple[str, str]:
        """aws-backup: the target vault and the role AWS Backup assumes (required by that
        engine, so present once the settings loaded)."""
        if self.backup_vault is None or self.iam_role_arn is None:
            raise ValueError(f"schedule {self.name}: backup_vault and iam_role_arn are required "
                             "by the aws-backup engine")
        return self.backup_vault, self.iam_role_arn

    def parsed(self) -> Expression:
        """The parsed expression (valid: checked when the settings were loaded)."""
        return parse_expression(self.expression, self.timezone)

    def selector(self) -> Selector:
        return Selector.build(self.tables, self.table_regex, self.tags, self.exclude)
