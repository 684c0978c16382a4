"""AWS errors are told apart once: transient ones are retried, permanent ones are not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import botocore
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

from daemon.aws.errors import (
    THROTTLING_CODES,
    TRANSIENT_CODES,
    TRANSIENT_STATUSES,
    error_code,
    permanent,
    transient,
)


def refused(code: str, status: int = 400, operation: str = "Publish") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


@pytest.mark.parametrize(("code", "status"), [
    ("ThrottlingException", 400), ("Throttling", 400), ("ProvisionedThroughputExceededException", 400),
    ("RequestLimitExceeded", 400), ("LimitExceededException", 400), ("SlowDown", 503),
    ("RequestThrottled", 403), ("Throttled", 429), ("KMSThrottling", 400), ("KmsThrottled", 400),
    ("RequestTimeout", 400), ("TransactionInProgressException", 400),
    ("InternalServerError", 500), ("InternalError", 500), ("ServiceUnavailableException", 503),
    ("DependencyFailureException", 500), ("AnythingAtAll", 502), ("TooBusy", 429),
])
def test_throttling_server_errors_and_timeouts_are_transient(code: str, status: int) -> None:
    exc = refused(code, status)
    assert transient(exc)
    assert not permanent(exc)


@pytest.mark.parametrize(("code", "status"), [
    ("AccessDeniedException", 400), ("AccessDenied", 403), ("AuthorizationError", 403),
    ("ValidationException", 400), ("InvalidParameter", 400), ("ParameterValueInvalid", 400),
    ("KMSAccessDenied", 400), ("KMSDisabled", 400), ("KMSNotFound", 400),
    ("KMSInvalidState", 400), ("KMSOptInRequired", 403), ("ResourceNotFoundException", 400),
    ("NotFound", 404), ("ParameterNotFound", 400), ("BackupNotFoundException", 400),
    ("ConditionalCheckFailedException", 400), ("UnrecognizedClientException", 400),
])
def test_refusals_for_good_are_permanent(code: str, status: int) -> None:
    exc = refused(code, status)
    assert permanent(exc)
    assert not transient(exc)


@pytest.mark.parametrize("exc", [
    EndpointConnectionError(endpoint_url="https://sns.us-east-1.amazonaws.com"),
    ConnectTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com"),
    ReadTimeoutError(endpoint_url="https://sns.us-east-1.amazonaws.com"),
    TimeoutError(), ConnectionResetError(),
])
def test_connection_errors_and_timeouts_are_transient(exc: Exception) -> None:
    assert transient(exc)
    assert not permanent(exc)


@pytest.mark.parametrize("exc", [ValueError("a bug"), ParamValidationError(report="x"),
                                 KeyError("Table")])
def test_what_is_not_an_aws_answer_is_neither(exc: Exception) -> None:
    """Not AWS's word: the caller keeps its own policy."""
    assert not transient(exc)
    assert not permanent(exc)


def test_the_error_code_is_aws_s_or_none() -> None:
    assert error_code(refused("KMSDisabled")) == "KMSDisabled"
    assert error_code(ClientError({"Error": {}}, "Publish")) is None
    assert error_code(ValueError("KMSDisabled")) is None


def test_every_code_and_status_botocore_retries_is_transient() -> None:
    """The lists are botocore's own (standard and legacy retry modes): a botocore upgrade
    that adds a retryable code shows up here."""
    assert set(ThrottledRetryableChecker._THROTTLED_ERROR_CODES) <= THROTTLING_CODES
    assert set(TransientRetryableChecker._TRANSIENT_ERROR_CODES) <= TRANSIENT_CODES
    assert set(TransientRetryableChecker._TRANSIENT_STATUS_CODES) <= TRANSIENT_STATUSES
    legacy = json.loads((Path(botocore.__file__).parent / "data/_retry.json").read_text())
    codes: set[str] = set()
    statuses: set[int] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            response = node.get("applies_when", {}).get("response", {})
            if "service_error_code" in response:
                codes.add(response["service_error_code"])
            elif "http_status_code" in response:
                statuses.add(response["http_status_code"])
            for value in node.values():
                walk(value)

    walk(legacy)
    assert codes <= TRANSIENT_CODES
    assert statuses <= TRANSIENT_STATUSES
