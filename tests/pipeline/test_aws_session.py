"""Outcome labels of AWS calls stay bounded and say what happened."""

from __future__ import annotations

import pytest

from daemon.aws.session import classify


@pytest.mark.parametrize(("status", "code", "outcome"), [
    (200, None, "ok"),
    (400, "ThrottlingException", "throttled"),
    (400, "ProvisionedThroughputExceededException", "throttled"),
    (503, "RequestLimitExceeded", "throttled"),
    (400, "ValidationException", "client_error"),
    (404, "ResourceNotFoundException", "client_error"),
    (500, "InternalServerError", "server_error"),
    (503, None, "server_error"),
])
def test_calls_are_classified_into_a_bounded_set(status: int, code: str | None,
                                                 outcome: str) -> None:
    assert classify(status, code) == outcome
