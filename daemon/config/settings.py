"""The root Settings tree (pydantic-settings): env prefix BACKUPD_, nesting with `__`.

Sources, strongest first: environment, then the optional YAML file named by
BACKUPD_CONFIG_FILE, then defaults. Sections of later features live in their own modules
(`schedules.py`, `freshness.py`, `tasks.py`, `leader.py`) and are composed here.
"""

from __future__ import annotations

import os
import socket
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from daemon.config.accounts import AccountId, LimitSettings, OrganizationSettings
from daemon.config.freshness import CoverageSettings, FreshnessSettings
from daemon.config.leader import LeaderSettings
from daemon.config.plans import BackupPlans
from daemon.config.schedules import SchedulerSettings, ScheduleSpec
from daemon.config.tasks import ExportRule, RestoreRule, TaskSettings

ENV_PREFIX = "BACKUPD_"
CONFIG_FILE_ENV = "BACKUPD_CONFIG_FILE"
# Where the platform names this process: the chart sets POD_NAME from the pod's name; a
# container's HOSTNAME is its host name.
PLATFORM_NAME_ENV = ("POD_NAME", "HOSTNAME")
FIFTY_TIB = 50 * 2**40


def _lower(value: object) -> object:
    """LOG_LEVEL=INFO is as good as info: the level names are read in any case."""
    return value.lower() if isinstance(value, str) else value


class Section(BaseModel):
    """A nested settings section: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class AwsSettings(Section):
    """How the daemon reaches AWS."""

    endpoint_url: str | None = Field(
        None, description="Send every call here instead of AWS (the local stand-in, or a VPC "
        "endpoint). botocore's own AWS_ENDPOINT_URL is honoured too.")
    assume_role_arn: str | None = Field(
        None, description="Role to assume through STS for every call (cross-account estates).")
    role_session_name: str = Field("ddb-backupd", description="STS session name when assuming.")
    max_attempts: int = Field(8, ge=1, le=20, description="botocore adaptive-mode attempts per call.")
    connect_timeout_seconds: float = Field(5.0, gt=0, description="TCP connect timeout per call.")
    read_timeout_seconds: float = Field(
        30.0, gt=20, description="Read timeout; must exceed the SQS long-poll wait (20 s).")
    max_pool_connections: int = Field(50, ge=1, le=1000, description="HTTP pool size per client.")
    access_key_id: SecretStr | None = Field(
        None, description="Static credentials; prefer IRSA / task roles, which need none.")
    secret_access_key: SecretStr | None = Field(None, description="Static credentials (secret).")
    session_token: SecretStr | None = Field(None, description="Static credentials (session token).")


class QueueSettings(Section):
    """The SQS consumer."""

    wait_seconds: int = Field(20, ge=0, le=20, description="Long-poll wait per ReceiveMessage.")
    max_messages: int = Field(10, ge=1, le=10, description="Messages per ReceiveMessage.")
    concurrency: int = Field(16, ge=1, le=256, description="Messages handled at once.")
    visibility_timeout_seconds: int = Field(
        60, ge=2, le=43200, description="Visibility set on receive and extended while in work.")
    error_backoff_max_seconds: float = Field(
        30.0, gt=0, description="Ceiling of the backoff after an SQS error.")
    batch_window_seconds: float = Field(
        0.2, ge=0, le=5, description="After a ReceiveMessage that returned fewer than "
        "max_messages, wait this long before the next one so that events arriving one by one "
        "are taken in fuller batches (fewer SQS calls); the batch in hand is handled at once. "
        "0: poll again at once.")


class HttpSettings(Section):
    """The HTTP server for the status page (/), /status, /metrics, /healthz and /readyz."""

    host: str = Field("0.0.0.0", description="Listen address.")  # noqa: S104 - a pod serves on all interfaces
    port: int = Field(9102, ge=0, le=65535, description="Listen port (0 picks a free one).")
    history_interval_seconds: float = Field(
        30.0, ge=1, le=3600, description="Seconds between samples of the running bytes that "
        "the status page draws; the last 120 are kept in memory (an hour at 30 s).")


class CloudWatchSettings(Section):
    """Publishing of the gauges to CloudWatch."""

    enabled: bool = Field(True, description="Publish gauges with PutMetricData.")
    namespace: str = Field("BackupMonitoring", min_length=1, max_length=255,
                           description="CloudWatch namespace (names starting AWS/ are reserved).")
    interval_seconds: float = Field(60.0, ge=1, description="One PutMetricData batch per interval.")
    sample_compatible: bool = Field(
        False, description="Also publish BackupJobSize (bytes of the counted jobs, dimensions "
        "Region, BackupType, VaultName) as AWS's concurrent backup monitor sample did, in the "
        "same PutMetricData; alarms built on the sample find it in `namespace`, which may not "
        "start with AWS/.")

    @field_validator("namespace")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        if value.startswith("AWS/"):
            raise ValueError("namespaces beginning 'AWS/' are reserved by AWS")
        return value


MonitoredState = Literal["CREATED", "PENDING", "RUNNING", "ABORTING"]
OPEN_JOB_STATES: tuple[MonitoredState, ...] = ("CREATED", "PENDING", "RUNNING", "ABORTING")


class MonitorSettings(Section):
    """Which open backup jobs the CloudWatch totals count (the Prometheus gauges count all)."""

    resource_types: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=list, description="Resource types counted in the CloudWatch totals, "
        "as AWS Backup names them (DynamoDB, RDS, ...); empty: every type.")
    states: list[MonitoredState] = Field(
        default_factory=lambda: list(OPEN_JOB_STATES), min_length=1,
        description="Job states counted in the CloudWatch totals; default: every open state "
        "(RUNNING alone counts only the jobs backing up now).")
class MetricsSettings(Section):
    """What /metrics exports."""

    per_table: bool = Field(
        True, description="Export backupd_table_last_backup_timestamp_seconds per (schedule, "
        "table). Very large estates may turn it off: then only the per-schedule oldest age and "
        "late count are exported, and the per-schedule freshness alert takes over.")


class Settings(BaseSettings):
    """Everything the daemon can be told. Built once in main() and passed down."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid",
        case_sensitive=False, validate_default=True,
    )

    region: str = Field("us-east-1", min_length=1, description="AWS region the daemon watches.")
    queue_url: str | None = Field(
        None, description="SQS queue that receives AWS Backup events; unset disables the consumer.")
    alert_topic_arn: str | None = Field(
        None, description="SNS topic for threshold and failure alerts; unset logs alerts only.")
    limit_bytes: Annotated[int, Field(gt=0)] = Field(
        FIFTY_TIB, description="Concurrent-backup limit in bytes (default 50 TiB).")
    warning_ratio: float = Field(0.8, gt=0, le=1, description="Warning level as a share of the limit.")
    critical_ratio: float = Field(0.9, gt=0, le=1, description="Critical level as a share of the limit.")
    accounts: list[AccountId] = Field(
        default_factory=list, description="Accounts whose events and jobs this deployment "
        "serves; events of others are ignored with a reason (shards serve disjoint sets). "
        "Empty: every account.")
    organization: OrganizationSettings = Field(default_factory=OrganizationSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    max_accounts: int = Field(
        1000, ge=1, description="Accounts tracked by name in gauges, CloudWatch dimensions and "
        "threshold levels; events of further accounts are counted under the account `other` "
        "(each such account is logged once), so label sets stay bounded.")
    alert_cooldown_seconds: float = Field(
        300.0, ge=0, description="A threshold level changes at most once per cooldown (hysteresis).")
    reconcile_seconds: float = Field(
        300.0, ge=5, description="Interval of the reconcile passes against AWS: ListBackupJobs "
        "repairs the tracker, and backup_plans are compared with AWS and repaired.")
    size_cache_seconds: float = Field(
        600.0, ge=0, description="TTL of cached DescribeTable sizes for jobs without a size.")
    shutdown_grace_seconds: float = Field(
        20.0, ge=1, le=600, description="Budget to drain in-flight work after SIGTERM.")
    log_level: Annotated[Literal["debug", "info", "warning", "error"],
                         BeforeValidator(_lower)] = Field("info", description="Log level.")
    dry_run: bool = Field(False, description="Do everything but create and delete backups.")
    revision: str = Field(
        "", description="Source revision the daemon was built from, shown in backupd_build_info; "
        "the image sets it from its REVISION build argument.")
    aws: AwsSettings = Field(default_factory=AwsSettings)
    queue: QueueSettings = Field(default_factory=QueueSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    cloudwatch: CloudWatchSettings = Field(default_factory=CloudWatchSettings)
    monitor: MonitorSettings = Field(default_factory=MonitorSettings)
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    schedules: list[ScheduleSpec] = Field(default_factory=list, description="Backup schedules.")
    freshness: FreshnessSettings = Field(default_factory=FreshnessSettings)
    coverage: CoverageSettings = Field(default_factory=CoverageSettings)
    restores: list[RestoreRule] = Field(default_factory=list, description="Restore rotation rules.")
    exports: list[ExportRule] = Field(default_factory=list, description="Export rules.")
    tasks: TaskSettings = Field(default_factory=TaskSettings)
    leader: LeaderSettings = Field(default_factory=LeaderSettings)
    backup_plans: BackupPlans = Field(
        default_factory=list, description="AWS Backup plans kept as configured (leader only): "
        "vault, rules, selections; reconciled every reconcile_seconds.")

    @field_validator("critical_ratio")
    @classmethod
    def _critical_above_warning(cls, value: float, info: object) -> float:
        data = getattr(info, "data", {})
        warning = data.get("warning_ratio")
        if warning is not None and value <= warning:
            raise ValueError(f"critical_ratio ({value}) must be above warning_ratio ({warning})")
        return value

    @field_validator("schedules")
    @classmethod
    def _unique_schedule_names(cls, value: list[ScheduleSpec]) -> list[ScheduleSpec]:
        """Names key backups, metrics and /status: two schedules may not share one."""
        names = [spec.name for spec in value]
        if repeated := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"schedule names must be unique: {', '.join(repeated)}")
        return value

    @field_validator("restores", "exports")
    @classmethod
    def _unique_rule_names(cls, value: list[RestoreRule] | list[ExportRule]
                           ) -> list[RestoreRule] | list[ExportRule]:
        """Rule names tag restored copies and name export markers: two rules may not share one."""
        names = [rule.name for rule in value]
        if repeated := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"rule names must be unique: {', '.join(repeated)}")
        return value

    @model_validator(mode="after")
    def _schedule_accounts_have_roles(self) -> Self:
        """Schedules and plans reach member accounts through their roles: the template must
        be set."""
        listed = [s.name for s in self.schedules if s.accounts]
        if listed and self.organization.role_arn_template is None:
            raise ValueError(f"schedules {', '.join(listed)} list accounts: set "
                             "organization.role_arn_template (the role assumed in each)")
        plans = [p.name for p in self.backup_plans if p.accounts]
        if plans and self.organization.role_arn_template is None:
            raise ValueError(f"backup_plans {', '.join(plans)} list accounts: set "
                             "organization.role_arn_template (the role assumed in each)")
        return self

    @model_validator(mode="after")
    def _task_accounts_have_roles(self) -> Self:
        """Restores and exports act in the backup's own account: another than the daemon's
        only through its role. Without the template a rule listing two or more accounts
        names at least one the daemon cannot act in (one account is allowed: check-config
        does not ask AWS which account is the daemon's own, and a single account is how a
        rule is pinned to it; a completion of any other account is skipped at run time)."""
        rules: list[RestoreRule | ExportRule] = [*self.restores, *self.exports]
        listed = [r.name for r in rules if len(r.accounts) > 1]
        if listed and self.organization.role_arn_template is None:
            raise ValueError(f"restore/export rules {', '.join(listed)} list several accounts: "
                             "set organization.role_arn_template (the role assumed in each "
                             "member account), or list only the daemon's own account")
        return self

    def scheduling_enabled(self) -> bool:
        """The scheduler is on and at least one schedule is enabled."""
        return self.scheduler.enabled and any(s.enabled for s in self.schedules)

    def tasks_enabled(self) -> bool:
        """A restore or an export rule is configured."""
        return bool(self.restores or self.exports)

    @model_validator(mode="after")
    def _leader_identity(self) -> Self:
        """The lease holder's name, when not configured: the pod's, else the host's."""
        if self.leader.identity is None:
            named = (os.environ.get(var) for var in PLATFORM_NAME_ENV)
            self.leader.identity = next((n for n in named if n), None) or socket.gethostname()
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - no .env files: env and YAML only
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = os.environ.get(CONFIG_FILE_ENV)
        if path:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)
