"""Settings of backup freshness (how old each table's newest backup is) and coverage (which
tables nothing protects), owned by the scheduler feature."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FreshnessSettings(BaseModel):
    """How freshness is read from AWS and when a table counts as late."""

    model_config = ConfigDict(extra="forbid")

    late_factor: float = Field(
        2.0, ge=1, le=100, description="A table is late when its newest good backup is older "
        "than this many times its schedule's expected interval (backupd_schedule_late_tables, "
        "CloudWatch LateTables); keep it equal to the threshold of the chart's "
        "BackupdTableBackupStale alert.")
    refresh_seconds: float = Field(
        600.0, ge=10, description="How often backups made outside the daemon's sight "
        "(another tool's on-demand backups) are listed again, from the previous listing on; "
        "completions the daemon sees move freshness at once.")
    api_calls_per_second: float = Field(
        5.0, gt=0, le=50, description="Rate limit of the freshness and coverage reads "
        "(ListBackups, ListBackupJobs, DescribeContinuousBackups): their own budget, so a "
        "10 000-table discovery at start does not hold the seed back. DynamoDB allows "
        "ListBackups 5 times per second per account.")


class CoverageSettings(BaseModel):
    """Coverage: the tables no schedule selects, with PITR off where a rule needs it, or
    whose newest backup is older than the RPO."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Evaluate coverage on the leader.")
    interval_seconds: float = Field(300.0, ge=10, description="How often coverage is evaluated.")
    rpo_seconds: float | None = Field(
        None, gt=0, description="Recovery point objective: a table whose newest good backup is "
        "older than this is a gap (rpo_breached). Unset: no RPO check.")
    exclude: list[str] = Field(
        default_factory=list, description="Table name globs coverage leaves out (scratch and "
        "test tables nobody means to back up).")
    alert: bool = Field(
        False, description="Publish an SNS alert (coverage_gap) when tables enter a gap; each "
        "start (or new leader) reports the gaps found once more.")
