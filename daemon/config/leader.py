"""Settings of leader election (owned by the replicas feature).

The timing follows client-go's leader election: a leader renews every `renew_seconds`,
gives up leading when it has not renewed for `renew_deadline_seconds`, and the others wait
`lease_seconds` of unchanged lease record before they take over. The gap between the
deadline and the lease is the fence: the time a deposed leader has to stop its work before
anyone else may start.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# DynamoDB table names: 3-255 of [A-Za-z0-9_.-].
TABLE_NAME = re.compile(r"^[A-Za-z0-9_.-]{3,255}$")


class LeaderSettings(BaseModel):
    """Active/passive replicas through a DynamoDB lease. Off for a single replica."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Elect a leader among replicas.")
    table: str = Field(
        "ddb-backupd-leader", description="DynamoDB table holding the lease item "
        "(partition key `lease`, type S).")
    create_table: bool = Field(
        False, description="Create the lease table (on-demand billing) when it is missing; "
        "otherwise a missing table is an error that names it.")
    lease_name: str = Field(
        "ddb-backupd", min_length=1, max_length=255,
        description="Key of the lease item: deployments sharing a table but not work use "
        "different names (one per account/region shard).")
    identity: str | None = Field(
        None, max_length=180, description="Base of the holder identity (default: POD_NAME, "
        "else the host name); a random suffix is always added, so a restarted process or two "
        "replicas given one name never mistake each other's lease for their own.")
    renew_seconds: float = Field(
        5.0, gt=0, le=60, description="Interval of lease renewals; followers check twice as "
        "often, so a failover takes at most lease_seconds + 0.6 * renew_seconds.")
    renew_deadline_seconds: float = Field(
        10.0, gt=0, le=300, description="A leader that has not renewed for this long stops "
        "its work (fencing); must lie between renew_seconds and lease_seconds.")
    lease_seconds: float = Field(
        15.0, gt=0, le=600, description="Followers take over a lease left unchanged this long.")
    takeover_reconcile_attempts: int = Field(
        5, ge=1, le=100, description="Tries of the reconcile a new leader runs before acting.")

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str) -> str:
        if not TABLE_NAME.match(value):
            raise ValueError("a DynamoDB table name is 3-255 characters of A-Z a-z 0-9 _ . -")
        return value

    @model_validator(mode="after")
    def _timing(self) -> LeaderSettings:
        """Without renew < deadline < lease a deposed leader could overlap its successor."""
        if not self.renew_seconds < self.renew_deadline_seconds:
            raise ValueError(f"renew_deadline_seconds ({self.renew_deadline_seconds}) must exceed"
                             f" renew_seconds ({self.renew_seconds})")
        if not self.renew_deadline_seconds < self.lease_seconds:
            raise ValueError(f"lease_seconds ({self.lease_seconds}) must exceed"
                             f" renew_deadline_seconds ({self.renew_deadline_seconds})")
        return self
