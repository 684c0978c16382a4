"""An alert: what one SNS message says. Built by pure code, published by runtime/alerts.py.

SNS subjects must be printable ASCII and under 100 characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "critical"]


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: a readable subject (≤ 100 chars for SNS), a JSON body, severity and event."""

    severity: Severity
    event: str
    subject: str
    body: dict[str, Any] = field(default_factory=dict)
