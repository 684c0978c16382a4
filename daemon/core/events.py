"""Decoded AWS Backup events: the one shape the rest of the daemon sees.

`decode(body)` accepts EventBridge events from aws.backup (raw or in an SNS envelope) and
AWS Backup vault notifications (SNS), and returns a `JobEvent`; anything else raises
`DecodeError` naming what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Kind = Literal["backup_job", "restore_job", "copy_job", "recovery_point", "ignored"]
Source = Literal["eventbridge", "sns-eventbridge", "vault-notification"]

TERMINAL_STATES = frozenset({"COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"})
FAILED_STATES = frozenset({"FAILED", "ABORTED", "EXPIRED", "PARTIAL"})
OPEN_STATES = frozenset({"CREATED", "PENDING", "RUNNING", "ABORTING"})


@dataclass(frozen=True, slots=True)
class JobEvent:
    """One AWS Backup event, normalised. `kind == "ignored"` carries a `reason`."""

    kind: Kind
    job_id: str | None
    state: str | None
    resource_arn: str | None
    resource_type: str | None
    vault: str | None
    region: str | None
    account: str | None
    size_bytes: int | None
    time: datetime
    reason: str | None = None
    source: Source = "eventbridge"
    recovery_point_arn: str | None = None
    created_resource_arn: str | None = None
    creation_date: datetime | None = None
    status_message: str | None = None
