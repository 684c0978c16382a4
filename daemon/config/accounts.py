"""Settings of an estate of several AWS accounts: the Organization, limits per account and region.

`organization.enabled`: the daemon runs in the Organization's management account or its
delegated administrator for AWS Backup, whose cross-account monitoring lists every member
account's jobs (`ListBackupJobs` with `ByAccountId`), so one reconcile repairs them all.
Without it, `organization.role_arn_template` and `accounts:` make the reconcile list each
served account through its own role instead.

AWS's limits on concurrent backups apply per account and region, so the threshold levels
do too: `limits.default_bytes` for every (account, region) (unset: the root `limit_bytes`,
so a single-account configuration keeps working as it is), then `limits.overrides`, per
account or per account and region, the most specific one winning.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

AccountId = Annotated[str, Field(pattern=r"^[0-9]{12}$",
                                 description="A 12-digit AWS account id.")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LimitOverride(_Section):
    """The limit of one account, or of one account in one region."""

    account: AccountId
    region: str | None = Field(
        None, min_length=1, description="Only in this region; unset: every region of the "
        "account without an override of its own.")
    limit_bytes: int = Field(gt=0, description="Concurrent-backup limit in bytes.")


class LimitSettings(_Section):
    """Concurrent-backup limits per (account, region)."""

    default_bytes: int | None = Field(
        None, gt=0, description="Limit of every (account, region) without an override; "
        "unset: limit_bytes.")
    overrides: list[LimitOverride] = Field(
        default_factory=list, description="Limits per account, or per account and region "
        '(the most specific wins), e.g. [{"account": "111122223333", "limit_bytes": '
        "10995116277760}].")

    @field_validator("overrides")
    @classmethod
    def _one_per_place(cls, value: list[LimitOverride]) -> list[LimitOverride]:
        """Two overrides of the same account and region would contradict each other."""
        places = [f"{o.account}/{o.region or '*'}" for o in value]
        if repeated := sorted({p for p in places if places.count(p) > 1}):
            raise ValueError(f"one override per account and region: {', '.join(repeated)}")
        return value


class OrganizationSettings(_Section):
    """One deployment for an AWS Organization."""

    enabled: bool = Field(
        False, description="Reconcile every member account's jobs through AWS Backup "
        "cross-account monitoring (ListBackupJobs with ByAccountId: each of accounts:, or * "
        "for all); needs the management or delegated administrator account's credentials. "
        "Off: the reconcile lists each account of accounts: through its role (with "
        "role_arn_template), else the daemon's own account.")
    role_arn_template: str | None = Field(
        None, description="Role assumed in each member account to act on its tables (table "
        "sizes by DescribeTable; backups and retention of schedules that list accounts; "
        "without organization.enabled, the reconcile of each account of accounts:), e.g. "
        "arn:aws:iam::{account}:role/ddb-backupd-member; {account} is the member's id. Unset: "
        "member tables are read by ARN only.")
    external_id: SecretStr | None = Field(
        None, description="ExternalId passed to AssumeRole when the member roles' trust "
        "policy requires one.")
    role_retry_seconds: float = Field(
        60.0, ge=1, description="After a member account's role could not be assumed, wait "
        "this long before trying it again (the other accounts are not held up).")

    @field_validator("role_arn_template")
    @classmethod
    def _names_the_account(cls, value: str | None) -> str | None:
        """A template without {account} would assume one role for every account."""
        if value is not None and (
                not value.startswith("arn:") or ":role/" not in value
                or "{account}" not in value):
            raise ValueError("must be a role ARN with {account} in place of the account id, "
                             "e.g. arn:aws:iam::{account}:role/ddb-backupd-member")
        return value
