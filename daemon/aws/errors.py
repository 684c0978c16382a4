"""AWS errors, told apart once: transient (retry after a delay) or permanent (give up, say why).

Transient is what botocore itself retries, so the daemon retries after botocore gave up on
exactly the failures botocore would have retried:

- `botocore/data/_retry.json` (the legacy retry mode): the throttling codes, HTTP 429, 500,
  502, 503, 504 and 509, connection errors, and per service `TooManyRequestsException`
  (organizations), `TransactionInProgressException` and `ReplicatedWriteConflictException`
  (dynamodb), `RequestLimitExceeded` and `EC2ThrottledException` (ec2),
  `BandwidthLimitExceeded` (cloudsearch), `LimitExceededException` (kinesis),
  `RequestThrottled` (sqs), `RequestTimeout` and `BadDigest` (s3),
  `RequestTimeoutException` (glacier), `PriorRequestNotComplete` (route53) and
  `IDPCommunicationError` (sts);
- `botocore/retries/standard.py` (the standard and adaptive modes):
  `ThrottledRetryableChecker._THROTTLED_ERROR_CODES`, which adds `SlowDown`;
  `TransientRetryableChecker._TRANSIENT_ERROR_CODES`, `_TRANSIENT_STATUS_CODES` and
  `_TRANSIENT_EXCEPTION_CLS` (botocore's `ConnectionError` and `HTTPClientError`, which
  include the connect and read timeouts).

Added to them: the throttling codes of services the daemon calls that botocore does not list
(SNS `Throttled` and `KMSThrottling`, SQS `KmsThrottled`), and Python's own `TimeoutError`
and `ConnectionError` (a bounded wait of ours, a reset socket).

Every other answer from AWS is permanent: the request is wrong (`ValidationException`,
`InvalidParameter`), not allowed (`AccessDeniedException`, `AuthorizationError`,
`KMSAccessDenied`, `KMSDisabled`, ...), or names what is not there
(`ResourceNotFoundException`, `NotFound`); sending it again gets the same answer. An
exception that is not about AWS at all (a bug, a cancellation) is neither: each caller keeps
its own policy for those.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

THROTTLING_CODES = frozenset({
    # botocore/retries/standard.py: ThrottledRetryableChecker._THROTTLED_ERROR_CODES
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
    "TooManyRequestsException", "ProvisionedThroughputExceededException",
    "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
    "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
    "EC2ThrottledException",
    # the services' own models: SNS ThrottledException and KMSThrottlingException, SQS
    # KmsThrottled, which botocore does not list
    "Throttled", "KMSThrottling", "KmsThrottled",
})
TRANSIENT_CODES = THROTTLING_CODES | {
    # botocore/retries/standard.py: TransientRetryableChecker._TRANSIENT_ERROR_CODES
    "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    # botocore/data/_retry.json: per-service policies not covered above
    "ReplicatedWriteConflictException", "BadDigest", "IDPCommunicationError",
}
# HTTP statuses: botocore/data/_retry.json, and TransientRetryableChecker's 500 to 504
TRANSIENT_STATUSES = frozenset({429, 500, 502, 503, 504, 509})
TRANSIENT_EXCEPTIONS = (BotoConnectionError, HTTPClientError, TimeoutError, ConnectionError)


def error_code(exc: BaseException) -> str | None:
    """AWS's error code of a botocore ClientError (`AccessDeniedException`), else None."""
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def transient(exc: BaseException) -> bool:
    """Worth retrying after a delay: throttled, a 5xx, a timeout, a connection error."""
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error_code(exc) in TRANSIENT_CODES or status in TRANSIENT_STATUSES
    return isinstance(exc, TRANSIENT_EXCEPTIONS)


def permanent(exc: BaseException) -> bool:
    """AWS answered, and the same request will get the same answer: do not send it again."""
    return isinstance(exc, ClientError) and not transient(exc)
