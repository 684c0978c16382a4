"""Settings of restores, exports and the background task runner (owned by that feature)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TaskSettings(BaseModel):
    """Task-runner knobs."""

    model_config = ConfigDict(extra="forbid")


class RestoreRule(BaseModel):
    """One restore rotation rule."""

    model_config = ConfigDict(extra="forbid")

    name: str


class ExportRule(BaseModel):
    """One export rule."""

    model_config = ConfigDict(extra="forbid")

    name: str
