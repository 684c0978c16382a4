"""Settings of restores (rotation rules), exports and the background task runner.

Every check that can be made before the daemon runs is made here, on the field it concerns,
so `check-config` lists each problem field by field: a restore rule that could produce an
invalid table name, an export rule missing the role RDS needs, an unparsable schedule.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from daemon.core.scheduling.schedule import ScheduleError, parse_expression
from daemon.core.tasks.exports import KEY_PRESETS, key_template_problem
from daemon.core.tasks.naming import NamingError, check_rule, compile_pattern

RULE_NAME = r"^[A-Za-z0-9_.\-]{1,64}$"
# The length as max_length, not as {1,2048} in the pattern: pydantic's (Rust) regex engine
# unrolls a bounded repeat, and that one pattern held 1.2-4 MB for as long as the daemon ran.
SSM_NAME = r"^[A-Za-z0-9_.\-/{}]+$"
SSM_NAME_MAX = 2048
HOUR = 3600.0
VAULT = (r"^([A-Za-z0-9_\-]{2,50}|arn:aws[a-z\-]*:backup:[a-z0-9\-]+:[0-9]{12}:"
         r"backup-vault:[A-Za-z0-9_\-]{2,50})$")
ACCOUNT = r"^[0-9]{12}$"
Vault = Annotated[str, Field(pattern=VAULT)]
Account = Annotated[str, Field(pattern=ACCOUNT)]


def _pattern_compiles(value: str) -> str:
    """A rule's source pattern must compile as the regexp dialect restore names use."""
    try:
        compile_pattern(value)
    except NamingError as exc:
        raise ValueError(str(exc)) from None
    return value


SourcePattern = Annotated[str, AfterValidator(_pattern_compiles)]


def _vaults_field() -> list[str]:
    return Field(default_factory=list, description="Only completed backups in one of these "
                 "AWS Backup vaults (names, or vault ARNs: same vault, account and region) "
                 "trigger the rule; empty: any vault, and backups outside vaults too.")


def _accounts_field() -> list[str]:
    return Field(default_factory=list, description="Only completed backups of resources in "
                 "these AWS accounts (12 digits) trigger the rule; empty: any account.")

class Section(BaseModel):
    """Unknown keys are errors: a typo must not silently disable a rule's option."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


class TaskSettings(Section):
    """The task runner that runs restores and exports in the background."""

    restore_concurrency: int = Field(
        5, ge=1, le=50, description="Restores running at once. DynamoDB allows about 50 "
        "concurrent restores per account, shared with everyone else in it: stay well below.")
    export_concurrency: int = Field(
        4, ge=1, le=300, description="Exports running at once. RDS allows 5 concurrent snapshot "
        "exports per account, DynamoDB 300.")
    queue_limit: int = Field(
        1000, ge=1, description="Tasks waiting for a slot; beyond it new triggers are dropped "
        "(and found again by the next rescan).")
    poll_initial_seconds: float = Field(
        5.0, gt=0, description="First wait between status polls of a restore or export.")
    poll_max_seconds: float = Field(
        60.0, gt=0, description="Ceiling of the growing wait between status polls.")
    restore_timeout_seconds: float = Field(
        6 * HOUR, gt=0, description="A restore not ACTIVE by then fails (large tables take hours).")
    export_timeout_seconds: float = Field(
        24 * HOUR, gt=0,
        description="An export not finished by then is alerted on and left to AWS.")
    rescan_seconds: float = Field(
        300.0, ge=5, description="How often in-flight restores and exports are rediscovered "
        "from AWS (tags, export lists): work a restart or a lost task left behind.")
    catchup_seconds: float = Field(
        86400.0, ge=0, le=35 * 86400, description="Each rescan also lists the backups "
        "completed this far back (ListBackupJobs, ListBackups) and starts the restores and "
        "exports whose trigger was lost (a crash after the event was consumed, a full task "
        "queue); 0 turns it off. Restores only ever take a source's newest backup.")
    recent_limit: int = Field(50, ge=0, le=1000, description="Finished tasks kept on /status.")
    restore_role_arn: str | None = Field(
        None, description="IAM role AWS Backup assumes for StartRestoreJob (AWS Backup recovery "
        "points); rules may override it. '{account}' is replaced with the account the restore "
        "runs in (a member account's restores pass a role of that account).")


class RestoreValidation(Section):
    """Reads made on a restored table before the SSM parameter is moved to it."""

    min_items: int | None = Field(
        None, ge=0, description="Fail the restore unless the table holds at least this many items.")
    sample_reads: int = Field(
        0, ge=0, le=1000, description="Items to scan and read back by key (consistent reads).")


class TableSettings(Section):
    """Overrides passed to the restore (billing, throughput, encryption of the new table)."""

    billing_mode: Literal["PAY_PER_REQUEST", "PROVISIONED"] | None = Field(
        None, description="Billing mode of the restored table (default: the backup's).")
    read_capacity_units: int | None = Field(None, ge=1, description="With PROVISIONED.")
    write_capacity_units: int | None = Field(None, ge=1, validate_default=True,
                                             description="With PROVISIONED.")
    sse: Literal["aws-owned", "kms"] | None = Field(
        None,
        description="Encryption: an AWS owned key, or KMS (kms_key_id or the AWS managed key).")
    kms_key_id: str | None = Field(None, description="KMS key of the restored table, with sse=kms.")

    @field_validator("write_capacity_units", mode="after")
    @classmethod
    def _capacity_needs_provisioned(cls, value: int | None, info: ValidationInfo) -> int | None:
        mode = info.data.get("billing_mode")
        read = info.data.get("read_capacity_units")
        if mode == "PROVISIONED" and (value is None or read is None):
            raise ValueError("billing_mode PROVISIONED needs read_capacity_units and "
                             "write_capacity_units")
        if mode != "PROVISIONED" and (value is not None or read is not None):
            raise ValueError("capacity units apply only with billing_mode PROVISIONED")
        return value

    @field_validator("kms_key_id", mode="after")
    @classmethod
    def _key_needs_kms(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("sse") != "kms":
            raise ValueError("kms_key_id applies only with sse: kms")
        return value

    def provisioned(self) -> tuple[int, int] | None:
        """(read, write) capacity units with PROVISIONED billing (both required then)."""
        if self.billing_mode != "PROVISIONED" or self.read_capacity_units is None or \
                self.write_capacity_units is None:
            return None
        return self.read_capacity_units, self.write_capacity_units


class RestoreRule(Section):
    """One rotation rule: a completed backup of a matching table becomes a restored copy."""

    name: str = Field(pattern=RULE_NAME,
                      description="Rule name: tagged on its copies, a metric label.")
    source_pattern: SourcePattern = Field(
        description="Regular expression (Go/RE2 syntax) on the source table name, e.g. "
        "'(?i)-production$'.")
    replacement: str = Field(
        description="Go ReplaceAllString template ($0, $1, ${name}, $$); the backup's UTC time "
        "is appended as -YYYYMMDD-HH-mm-ss.")
    ssm_parameter: str | None = Field(
        None, pattern=SSM_NAME, max_length=SSM_NAME_MAX,
        description="SSM parameter set (Overwrite) to the new table's ARN; '{table}' is "
        "replaced with the source table name.")
    keep_last: int | None = Field(
        2, ge=1, description="Restored copies kept per source table; null keeps every copy "
        "(rotation off: nothing is deleted, failed copies included).")
    validation: RestoreValidation | None = Field(
        None, alias="validate", description="Checks before the SSM parameter moves.")
    table_settings: TableSettings | None = Field(None, description="Overrides for the restore.")
    iam_role_arn: str | None = Field(
        None, description="Role for StartRestoreJob; default tasks.restore_role_arn; "
        "'{account}': the account the restore runs in.")
    vaults: list[Vault] = _vaults_field()
    accounts: list[Account] = _accounts_field()

    @field_validator("replacement", mode="after")
    @classmethod
    def _names_are_valid(cls, value: str, info: ValidationInfo) -> str:
        pattern = info.data.get("source_pattern")
        if pattern is None:  # the pattern's own error is already reported
            return value
        problems = check_rule(pattern, value)
        if problems:
            raise ValueError("; ".join(problems))
        return value


class ExportRule(Section):
    """One export rule: DynamoDB table exports or RDS snapshot exports to S3."""

    name: str = Field(pattern=RULE_NAME, description="Rule name: in markers, a metric label.")
    kind: Literal["dynamodb", "rds"] = Field("dynamodb", description="What is exported.")
    source_pattern: SourcePattern = Field(
        description="Regular expression on the table name (dynamodb) or the DB instance / "
        "cluster identifier (rds).")
    on_backup: bool = Field(True, description="Export when a matching backup completes.")
    timezone: str = Field("UTC", description="IANA time zone of a cron() schedule.")
    schedule: str | None = Field(
        None, validate_default=True,
        description="Also export on a schedule: cron(...) or rate(...) as for backups.")
    bucket: str = Field(min_length=3, max_length=63, description="Destination S3 bucket.")
    prefix: str = Field("exports", max_length=512,
                        description="Key prefix: {prefix} in the key template.")
    s3_key_preset: Literal["default", "hive"] = Field(
        "default", description="Key layout: default <prefix>/<name>/<YYYY>/<MM>/<DD>/; hive "
        "<prefix>/table=<name>/year=<YYYY>/month=<MM>/day=<DD>/job=<job id>/ (the sample's "
        "Athena partitions).")
    s3_key_template: str | None = Field(
        None, max_length=1024, validate_default=True, description="Key layout of your own, "
        "instead of the preset: {prefix} {name} {account} {region} {job_id} {yyyy} {mm} {dd} "
        "({job_id}: the backup job, else the export's token).")
    bucket_owner: str | None = Field(
        None, pattern=r"^[0-9]{12}$", description="Account owning the bucket (dynamodb); "
        "unset: a member account's exports name the daemon's own account.")
    kms_key_id: str | None = Field(
        None, validate_default=True,
        description="KMS key for the exported objects (required for rds); '{account}' as in "
        "iam_role_arn.")
    format: Literal["DYNAMODB_JSON", "ION"] = Field("DYNAMODB_JSON", description="dynamodb only.")
    export_type: Literal["full", "incremental"] = Field(
        "full", description="dynamodb: full table, or the changes since the previous export.")
    incremental_view: Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES"] = Field(
        "NEW_AND_OLD_IMAGES", description="dynamodb incremental: what each change holds.")
    incremental_window_seconds: float = Field(
        24 * HOUR, ge=900, le=24 * HOUR, description="Window of the first incremental export "
        "(later ones continue from the previous); AWS allows 15 min to 24 h.")
    iam_role_arn: str | None = Field(
        None, validate_default=True, description="Role RDS assumes to write to S3 (rds); "
        "'{account}': the account the export runs in (a member's snapshots: its own role).")
    export_only: list[str] = Field(
        default_factory=list,
        description="rds: databases, schemas or tables to export (ExportOnly).")
    vaults: list[Vault] = _vaults_field()
    accounts: list[Account] = _accounts_field()
    delete_source_on_success: bool = Field(
        False, description="Delete the source recovery point after the export COMPLETED; never on "
        "failure (its own retention stays the failsafe). Needs vaults: only recovery points in "
        "one of them are ever deleted.")

    @field_validator("delete_source_on_success", mode="after")
    @classmethod
    def _deleting_needs_vaults(cls, value: bool, info: ValidationInfo) -> bool:
        if value and not info.data.get("vaults"):
            raise ValueError("delete_source_on_success needs vaults: name the vaults whose "
                             "recovery points this rule may delete")
        return value

    @field_validator("schedule", mode="after")
    @classmethod
    def _schedule_parses(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and not info.data.get("on_backup"):
            raise ValueError("the rule never runs: set on_backup true or a schedule")
        if value is not None:
            try:
                parse_expression(value, info.data.get("timezone") or "UTC")
            except ScheduleError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("s3_key_template", mode="after")
    @classmethod
    def _template_parses(cls, value: str | None) -> str | None:
        problem = key_template_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value

    @property
    def key_template(self) -> str:
        """The S3 key template exports of this rule follow."""
        return self.s3_key_template or KEY_PRESETS[self.s3_key_preset]

    @field_validator("prefix", mode="after")
    @classmethod
    def _strip_slashes(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("iam_role_arn", mode="after")
    @classmethod
    def _rds_needs_role(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("kind") == "rds" and not value:
            raise ValueError("rds exports need iam_role_arn (the role RDS assumes to write to S3)")
        return value

    @field_validator("kms_key_id", mode="after")
    @classmethod
    def _rds_needs_key(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("kind") == "rds" and not value:
            raise ValueError("rds exports need kms_key_id (StartExportTask requires a KMS key)")
        return value

    def rds_access(self, account: str | None = None) -> tuple[str, str]:
        """rds: the role RDS assumes to write to S3 and the export's KMS key (both required
        for rds, so present once the settings loaded), `{account}` in them replaced with the
        account the export runs in (a member account's own role and key)."""
        if self.iam_role_arn is None or self.kms_key_id is None:
            raise ValueError(f"export rule {self.name}: rds exports need iam_role_arn and "
                             "kms_key_id")
        if account is None:
            return self.iam_role_arn, self.kms_key_id
        return (self.iam_role_arn.replace("{account}", account),
                self.kms_key_id.replace("{account}", account))
