"""Settings of AWS Backup plans as code (`backup_plans:`), validated as AWS would validate them.

Each entry declares a vault (created when `create: true`, with an optional KMS key and Vault
Lock), the plan's rules and its selections. Every check that AWS would make when the plan is
created is made here, on the field it concerns, so `check-config` (and every command) exits 2
naming it: `backup_plans[0].rules[1].lifecycle.delete_after_days: ...`.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from daemon.config.accounts import AccountId
from daemon.core.plans.ownership import SELECTION_NAME_MAX, SELECTION_PREFIX
from daemon.core.scheduling.schedule import (
    Cron,
    ScheduleError,
    load_zone,
    next_runs,
    parse_expression,
)

AWS_NAME = r"^[A-Za-z0-9_.-]{1,50}$"
VAULT_NAME = r"^[A-Za-z0-9_-]{2,50}$"
ROLE_ARN = (r"^arn:aws[a-z-]*:iam::([0-9]{12}|\{account\}):role/"  # IAM: ASCII only
            r"[A-Za-z0-9_+=,.@/-]+$")
ACCOUNT = "{account}"  # a member account's id, in a plan listing accounts
VAULT_ARN = r"^arn:aws[a-z-]*:backup:[a-z0-9-]+:[0-9]{12}:backup-vault:[A-Za-z0-9_-]{2,50}$"
KMS_ARN = r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$"
MAX_DAYS = 36500  # AWS: 100 years
MAX_WINDOW = 52_560_000  # AWS: 100 years, in minutes
MIN_WINDOW = 60
COLD_STORAGE_MIN_DAYS = 90
CONTINUOUS_MAX_DAYS = 35
MIN_INTERVAL_MINUTES = 60
MAX_ARNS, MAX_WILDCARD_ARNS = 500, 30
SAMPLE_FROM = datetime(2026, 1, 1, tzinfo=UTC)  # any instant: cron() gaps repeat
SAMPLE_RUNS = 200


class Section(BaseModel):
    """Unknown keys are errors: a misspelt option must not silently change a plan."""

    model_config = ConfigDict(extra="forbid")


class LifecycleSpec(Section):
    """When recovery points move to cold storage (opt-in) and when they are deleted."""

    move_to_cold_storage_after_days: int | None = Field(
        None, ge=1, le=MAX_DAYS, description="Move recovery points to cold storage this many "
        "days after creation (opt-in: unset keeps them warm). Only resource types AWS can move "
        "are moved; others ignore it.")
    delete_after_days: int | None = Field(
        None, ge=1, le=MAX_DAYS, description="Delete recovery points this many days after "
        "creation (unset: keep them). With cold storage, at least 90 days after the move.")
    opt_in_to_archive: bool = Field(
        False, description="OptInToArchiveForSupportedResources: move supported resources to "
        "the archive (cold) tier by this lifecycle.")

    @field_validator("delete_after_days", mode="after")
    @classmethod
    def _cold_storage_for_90_days(cls, value: int | None, info: ValidationInfo) -> int | None:
        cold = info.data.get("move_to_cold_storage_after_days")
        if value is not None and cold is not None and value - cold < COLD_STORAGE_MIN_DAYS:
            raise ValueError(f"{value} days is less than 90 days after "
                             f"move_to_cold_storage_after_days ({cold}): AWS keeps a recovery "
                             f"point in cold storage at least 90 days (use {cold + 90} or more)")
        return value


class CopyActionSpec(Section):
    """A copy of every recovery point of the rule into another vault (Region or account)."""

    destination_vault_arn: str = Field(
        pattern=VAULT_ARN, description="ARN of the destination vault.")
    lifecycle: LifecycleSpec | None = Field(
        None, description="Lifecycle of the copies (default: kept until deleted).")


class RuleSpec(Section):
    """One rule of a plan: when AWS Backup starts jobs, and how long it keeps what they make."""

    name: str = Field(pattern=AWS_NAME, description="RuleName: letters, digits, '-', '_', '.'.")
    expression: str = Field(
        description="AWS cron(...) expression (AWS Backup plans take cron() only), at most "
        "once an hour.")
    timezone: str = Field("UTC", description="IANA time zone of the cron() expression "
                          "(ScheduleExpressionTimezone).")
    start_window_minutes: int = Field(
        480, ge=MIN_WINDOW, le=MAX_WINDOW, description="A job not started this long after its "
        "scheduled time is cancelled (AWS: at least 60; its default, 8 hours).")
    complete_window_minutes: int = Field(
        10080, ge=MIN_WINDOW, le=MAX_WINDOW, description="A job not completed this long after "
        "it started is cancelled (AWS's default: 7 days).")
    lifecycle: LifecycleSpec = Field(default_factory=LifecycleSpec,
                                     description="Cold storage and expiry of recovery points.")
    continuous_backup: bool = Field(
        False, description="EnableContinuousBackup: continuous backups for point-in-time "
        "restore (resource types that support it); kept 1 to 35 days.")
    copy_to: list[CopyActionSpec] = Field(default_factory=list,
                                          description="Copies into other vaults (CopyActions).")
    recovery_point_tags: dict[str, str] = Field(
        default_factory=dict, description="Tags AWS Backup puts on the recovery points.")

    @field_validator("expression", mode="after")
    @classmethod
    def _hourly_cron(cls, value: str) -> str:
        try:
            parsed = parse_expression(value)  # the zone is checked on its own field
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
        if not isinstance(parsed, Cron):
            raise ValueError(  # noqa: TRY004 - pydantic reports ValueError, not TypeError
                "AWS Backup plans take cron(...) expressions only, not rate()")
        runs = next_runs(parsed, SAMPLE_FROM, SAMPLE_RUNS)
        gaps = [(b - a).total_seconds() / 60 for a, b in itertools.pairwise(runs)]
        if gaps and min(gaps) < MIN_INTERVAL_MINUTES:
            raise ValueError(f"runs {min(gaps):.0f} minutes apart: AWS Backup plans run at most "
                             "once an hour")
        return value

    @field_validator("timezone", mode="after")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            load_zone(value)
        except ScheduleError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("continuous_backup", mode="after")
    @classmethod
    def _continuous_retention(cls, value: bool, info: ValidationInfo) -> bool:
        lifecycle = info.data.get("lifecycle")
        if not value or lifecycle is None:
            return value
        days = lifecycle.delete_after_days
        if days is None or days > CONTINUOUS_MAX_DAYS:
            raise ValueError("continuous backups are kept 1 to 35 days: set "
                             "lifecycle.delete_after_days to 35 or less")
        if lifecycle.move_to_cold_storage_after_days is not None:
            raise ValueError("continuous backups cannot move to cold storage: remove "
                             "lifecycle.move_to_cold_storage_after_days")
        return value


class TagConditionSpec(Section):
    """A tag condition of a selection (AWS `Conditions`: all of them must hold)."""

    key: str = Field(min_length=1, max_length=128, description="Tag key.")
    value: str = Field(max_length=256, description="Tag value; '*' wildcards with like/not_like.")
    operator: Literal["equals", "not_equals", "like", "not_like"] = Field(
        "equals", description="StringEquals, StringNotEquals, StringLike or StringNotLike.")


class SelectionSpec(Section):
    """Which resources a plan backs up: ARNs, tags, conditions, and the role AWS Backup uses."""

    name: str = Field(
        pattern=rf"^[A-Za-z0-9_.-]{{1,{SELECTION_NAME_MAX - len(SELECTION_PREFIX)}}}$",
        description=f"Selection name; in AWS it is prefixed '{SELECTION_PREFIX}', which marks "
        "it as the daemon's.")
    iam_role_arn: str = Field(
        pattern=ROLE_ARN, description="Role AWS Backup assumes to back up the resources. In a "
        "plan listing accounts, a role of each member: arn:aws:iam::{account}:role/NAME "
        "('{account}' replaced by the member's id).")
    resources: list[str] = Field(
        default_factory=list, description="ARNs (wildcards allowed, '*' for every resource) "
        "to back up; any of them matches.")
    not_resources: list[str] = Field(default_factory=list,
                                     description="ARNs to leave out (NotResources).")
    tags: dict[str, str] = Field(
        default_factory=dict, description="Tags any of which selects a resource (ListOfTags, "
        "StringEquals).")
    conditions: list[TagConditionSpec] = Field(
        default_factory=list, description="Tag conditions every selected resource must meet "
        "(Conditions).")

    @field_validator("resources", "not_resources", mode="after")
    @classmethod
    def _arns(cls, value: list[str]) -> list[str]:
        bad = [arn for arn in value if arn != "*" and not arn.startswith("arn:")]
        if bad:
            raise ValueError(f"not an ARN (or '*'): {bad[0]!r}")
        wildcards = sum("*" in arn for arn in value)
        if len(value) > MAX_ARNS or (wildcards and len(value) > MAX_WILDCARD_ARNS):
            raise ValueError("AWS takes at most 500 ARNs, or 30 when any has a wildcard: "
                             "select by tags instead")
        return value

    @model_validator(mode="after")
    def _selects_something(self) -> Self:
        if not (self.resources or self.tags):
            raise ValueError("resources: select resources with resources (ARNs, '*') or tags; "
                             "conditions only narrow them (AWS would otherwise take every "
                             "supported resource)")
        return self


class VaultLockSpec(Section):
    """Vault Lock: retention bounds every recovery point in the vault must respect."""

    min_retention_days: int | None = Field(None, ge=1, le=MAX_DAYS,
                                           description="Shortest retention the vault accepts.")
    max_retention_days: int | None = Field(None, ge=1, le=MAX_DAYS,
                                           description="Longest retention the vault accepts.")
    changeable_for_days: int | None = Field(
        None, ge=3, le=MAX_DAYS, description="Compliance mode: after this many days (at least "
        "3) the lock can no longer be changed or removed, by anyone. Unset: governance mode.")

    @field_validator("max_retention_days", mode="after")
    @classmethod
    def _max_above_min(cls, value: int | None, info: ValidationInfo) -> int | None:
        low = info.data.get("min_retention_days")
        if value is not None and low is not None and value < low:
            raise ValueError(f"{value} is below min_retention_days ({low})")
        return value


class VaultSpec(Section):
    """The vault the plan's rules write to."""

    name: str = Field(pattern=VAULT_NAME, description="Vault name: 2-50 letters, digits, "
                      "'-' or '_'.")
    create: bool = Field(False, description="Create the vault when it does not exist (tagged "
                         "as the daemon's). False: it must exist.")
    kms_key_arn: str | None = Field(
        None, pattern=KMS_ARN, description="KMS key of a vault the daemon creates (default: "
        "AWS Backup's key). A vault's key cannot change after creation.")
    lock: VaultLockSpec | None = Field(
        None, description="Vault Lock of a vault the daemon creates; kept as configured.")

    @field_validator("kms_key_arn", "lock", mode="after")
    @classmethod
    def _only_when_created(cls, value: object, info: ValidationInfo) -> object:
        if value is not None and not info.data.get("create"):
            raise ValueError("applies only with create: true (the daemon configures only the "
                             "vaults it creates)")
        return value


class BackupPlanSpec(Section):
    """One AWS Backup plan the daemon keeps as configured."""

    name: str = Field(pattern=AWS_NAME, description="BackupPlanName (unique in the account "
                      "and Region): letters, digits, '-', '_', '.'.")
    vault: VaultSpec = Field(description="The vault every rule writes to.")
    rules: list[RuleSpec] = Field(min_length=1, description="The plan's rules.")
    selections: list[SelectionSpec] = Field(default_factory=list,
                                            description="The resources the plan backs up.")
    accounts: list[AccountId] = Field(
        default_factory=list, description="Member accounts (12-digit ids) in each of which "
        "this plan, its selections and its vault are kept, through the account's role "
        "(organization.role_arn_template). Empty: the daemon's own account.")

    @field_validator("rules", "selections", mode="after")
    @classmethod
    def _unique_names(cls, value: list[RuleSpec] | list[SelectionSpec]
                      ) -> list[RuleSpec] | list[SelectionSpec]:
        names = [item.name for item in value]
        if repeated := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"names must be unique: {', '.join(repeated)}")
        return value

    @field_validator("accounts", mode="after")
    @classmethod
    def _listed_once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("an account is listed twice")
        return value

    @model_validator(mode="after")
    def _roles_of_each_account(self) -> Self:
        """In a member account AWS Backup takes only a role of that account: a plan listing
        accounts names its selections' roles with `{account}`; one without cannot."""
        for i, selection in enumerate(self.selections):
            templated = ACCOUNT in selection.iam_role_arn
            where = f"selections[{i}].iam_role_arn"
            if self.accounts and not templated:
                raise ValueError(f"{where}: {selection.iam_role_arn} is not a role of each "
                                 "member account: with accounts write "
                                 "arn:aws:iam::{account}:role/NAME")
            if templated and not self.accounts:
                raise ValueError(f"{where}: '{{account}}' names a member account's role; "
                                 "this plan lists no accounts")
        return self

    def for_account(self, account: str) -> BackupPlanSpec:
        """This plan as it is kept in member `account`: `{account}` in its selections' roles
        and resource ARNs replaced by the member's id."""

        def member(value: str) -> str:
            return value.replace(ACCOUNT, account)

        selections = [s.model_copy(update={
            "iam_role_arn": member(s.iam_role_arn), "resources": [member(r) for r in s.resources],
            "not_resources": [member(r) for r in s.not_resources]}) for s in self.selections]
        return self.model_copy(update={"selections": selections, "accounts": []})

    @model_validator(mode="after")
    def _retention_fits_the_lock(self) -> Self:
        """A rule whose retention the vault's lock refuses fails every job: refuse it now."""
        lock = self.vault.lock
        if lock is None:
            return self
        for i, rule in enumerate(self.rules):
            days = rule.lifecycle.delete_after_days
            where = f"rules[{i}].lifecycle.delete_after_days"
            if lock.min_retention_days is not None and days is not None \
                    and days < lock.min_retention_days:
                raise ValueError(f"{where}: {days} is below vault.lock.min_retention_days "
                                 f"({lock.min_retention_days}): every job would fail")
            if lock.max_retention_days is not None and (
                    days is None or days > lock.max_retention_days):
                raise ValueError(f"{where}: {days or 'unset (kept forever)'} is above "
                                 f"vault.lock.max_retention_days ({lock.max_retention_days}): "
                                 "every job would fail")
        return self


def _consistent(plans: list[BackupPlanSpec]) -> list[BackupPlanSpec]:
    """Plan names are unique; plans sharing a vault declare it the same way."""
    names = [plan.name for plan in plans]
    if repeated := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"plan names must be unique: {', '.join(repeated)}")
    vaults: dict[str, VaultSpec] = {}
    for plan in plans:
        seen = vaults.setdefault(plan.vault.name, plan.vault)
        if seen != plan.vault:
            raise ValueError(f"vault {plan.vault.name}: plans sharing a vault must declare it "
                             "the same way (create, kms_key_arn, lock)")
    return plans


BackupPlans = Annotated[list[BackupPlanSpec], AfterValidator(_consistent)]
