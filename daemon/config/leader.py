"""Settings of leader election (owned by the replicas feature)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class LeaderSettings(BaseModel):
    """Active/passive replicas through a DynamoDB lease. Off for a single replica."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Elect a leader among replicas.")
