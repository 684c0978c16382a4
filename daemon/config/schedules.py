"""Settings of the backup scheduler and retention (owned by the scheduler feature)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SchedulerSettings(BaseModel):
    """Scheduler-wide knobs."""

    model_config = ConfigDict(extra="forbid")


class ScheduleSpec(BaseModel):
    """One backup schedule."""

    model_config = ConfigDict(extra="forbid")

    name: str
