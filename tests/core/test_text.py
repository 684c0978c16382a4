"""Values written for people: the same bytes and durations in alerts, commands and the page."""

from __future__ import annotations

import pytest

from daemon.core.text import duration, human_bytes


@pytest.mark.parametrize(("n", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (int(66.25 * 2**30), "66.3 GiB"),
    (50 * 2**40, "50.0 TiB"), (None, "-")])
def test_bytes_are_written_as_the_page_writes_them(n: int | None, text: str) -> None:
    assert human_bytes(n) == text


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (59.5, "1m0s"), (61, "1m1s"), (3600 * 26 + 60, "1d2h"), (None, "-")])
def test_durations_keep_their_two_largest_units(seconds: float | None, text: str) -> None:
    assert duration(seconds) == text
