"""An alert: what one SNS message says. Built by pure code, published by kernel/outbox.py.

Every alert's subject goes through the one builder here, `sns_subject`, when the alert is
made, so no caller can forget it. SNS's Publish takes a subject that "must be ASCII text that
begins with a letter, number, or punctuation mark; must not include line breaks or control
characters; and must be less than 100 characters long" (Amazon SNS API Reference, Publish):
at most 99 characters. (AWS has been seen to accept exactly 100, getmoto/moto#1503; the
documented bound is safe either way.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "critical"]
SUBJECT_MAX = 99
NO_SUBJECT = "ddb-backupd alert"


def sns_subject(text: str) -> str:
    """`text` as SNS takes it: whitespace collapsed (no line breaks, no leading blank),
    anything but printable ASCII as '?', at most SUBJECT_MAX characters (cut with '...')."""
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in " ".join(text.split()))
    if not cleaned:
        return NO_SUBJECT
    return cleaned if len(cleaned) <= SUBJECT_MAX else cleaned[: SUBJECT_MAX - 3] + "..."


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: a readable subject (made fit for SNS), a JSON body, severity and event."""

    severity: Severity
    event: str
    subject: str
    body: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "subject", sns_subject(self.subject))
