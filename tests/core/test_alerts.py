"""Every alert's subject is one SNS takes: printable ASCII, no line breaks, under 100 characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.alerts import NO_SUBJECT, SUBJECT_MAX, Alert, sns_subject


@pytest.mark.parametrize(("text", "subject"), [
    ("Backup failed: orders (nightly)", "Backup failed: orders (nightly)"),
    ("tábla\nname\t!", "t?bla name !"),
    ("  leading and trailing blanks  ", "leading and trailing blanks"),
    ("line one\r\nline two", "line one line two"),
    ("bell\x07 and nul\x00", "bell? and nul?"),
    ("x" * 99, "x" * 99),
    ("x" * 100, "x" * 96 + "..."),
    ("x" * 150, "x" * 96 + "..."),
    ("", NO_SUBJECT),
    (" \n\t ", NO_SUBJECT),
])
def test_a_subject_is_made_fit_for_sns(text: str, subject: str) -> None:
    assert sns_subject(text) == subject


@given(st.text(max_size=400))
def test_any_text_becomes_a_subject_sns_accepts(text: str) -> None:
    """ASCII, printable, beginning with a letter, digit or punctuation, fewer than 100."""
    subject = sns_subject(text)
    assert 0 < len(subject) <= SUBJECT_MAX < 100
    assert all(" " <= c <= "~" for c in subject)
    assert not subject[0].isspace()
    assert sns_subject(subject) == subject, "building a subject twice changes nothing"


def test_every_alert_gets_its_subject_through_the_builder() -> None:
    """Whoever builds an alert, its subject is fit for SNS (no caller can skip it)."""
    alert = Alert("critical", "backup_failed", "Backup failed: tábla\n" + "x" * 200)
    assert alert.subject == sns_subject("Backup failed: tábla\n" + "x" * 200)
    assert len(alert.subject) == SUBJECT_MAX
