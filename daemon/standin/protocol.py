"""AWS Backup's REST-JSON wire protocol, as botocore speaks it (`backup/2018-11-15/service-2.json`).

Requests carry JSON bodies and URI/query labels; responses are JSON with timestamps as epoch
seconds; errors are a JSON body with `Code`/`Message` plus the `x-amzn-ErrorType` header, which
is what botocore reads to raise `client.exceptions.<Code>`. Kept apart from the fake's state so
the state never sees bytes and the wire never sees locks.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote

JsonDict = dict[str, Any]


class BackupApiError(Exception):
    """An error AWS Backup would return: its code (the exception shape name) and HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def not_found(message: str) -> BackupApiError:
    """`ResourceNotFoundException` (400, as AWS Backup returns it; botocore reads the header)."""
    return BackupApiError("ResourceNotFoundException", message, 400)


def invalid_parameter(message: str) -> BackupApiError:
    """`InvalidParameterValueException`: a value is out of range or malformed."""
    return BackupApiError("InvalidParameterValueException", message, 400)


def missing_parameter(name: str) -> BackupApiError:
    """`MissingParameterValueException`: a required member was absent."""
    return BackupApiError("MissingParameterValueException", f"{name} is required.", 400)


def invalid_request(message: str) -> BackupApiError:
    """`InvalidRequestException`: the request is well-formed but not allowed now."""
    return BackupApiError("InvalidRequestException", message, 400)


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One decoded request: labels from the URI, query parameters and the JSON body."""

    method: str
    path: str
    region: str
    caller: str  # the account whose credentials signed the request
    labels: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: JsonDict = field(default_factory=dict)

    def require(self, name: str) -> Any:
        """The body member `name`, or `MissingParameterValueException` as AWS raises it."""
        value = self.body.get(name)
        if value is None or value == "":
            raise missing_parameter(name)
        return value


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """Status, headers and body bytes, ready for WSGI."""

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def parse_query(raw_query: str) -> dict[str, str]:
    """First value of each query parameter (the faked APIs take no repeated parameters)."""
    return {k: v[0] for k, v in parse_qs(raw_query, keep_blank_values=True).items()}


def split_raw_uri(raw_uri: str) -> tuple[list[str], str]:
    """Path segments still percent-encoded (an ARN label carries encoded `/`), and the query."""
    path, _, query = raw_uri.partition("?")
    return path.split("/"), query


def decode_label(segment: str) -> str:
    """A URI label as botocore encoded it (ARNs arrive fully percent-encoded)."""
    return unquote(segment)


def parse_body(raw: bytes) -> JsonDict:
    """The JSON request body; an empty body is an empty object, as for GET requests."""
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BackupApiError("SerializationException", f"Malformed JSON: {exc}", 400) from exc
    if not isinstance(body, dict):
        raise BackupApiError("SerializationException", "Request body must be a JSON object", 400)
    return body


def parse_timestamp(value: str) -> datetime:
    """A query timestamp: botocore sends ISO 8601 for REST query strings; epoch also accepted."""
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid_parameter(f"Invalid timestamp: {value}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_wire(value: Any) -> Any:
    """Python values to AWS JSON: datetimes become epoch seconds, None members are dropped.

    Milliseconds are cut, not rounded, as in the events (`events.py`): AWS keeps one
    millisecond time per job, so an event and a listing of the same job never disagree.
    """
    if isinstance(value, datetime):
        return round(value.replace(microsecond=value.microsecond // 1000 * 1000).timestamp(), 3)
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    return value


def json_response(body: JsonDict | None, status: int = 200) -> ApiResponse:
    """A successful response; operations without output return an empty body."""
    payload = json.dumps(to_wire(body)).encode() if body is not None else b""
    headers = (("Content-Type", "application/json"),) if body is not None else ()
    return ApiResponse(status, payload, headers)


def error_response(err: BackupApiError) -> ApiResponse:
    """An error exactly as botocore's rest-json parser expects it."""
    payload = json.dumps({"Code": err.code, "Message": err.message, "message": err.message,
                          "Type": "Server" if err.status >= 500 else "User"}).encode()
    headers = (("Content-Type", "application/json"), ("x-amzn-ErrorType", err.code))
    return ApiResponse(err.status, payload, headers)


def paginate(items: list[Any], query: dict[str, str], limit: int = 1000
             ) -> tuple[list[Any], str | None]:
    """One page of `items` by `maxResults`/`nextToken`, as AWS Backup's list calls page.

    Tokens are opaque to clients; here they encode the offset into a stable ordering.
    """
    raw_max = query.get("maxResults")
    try:
        size = int(raw_max) if raw_max else limit
    except ValueError as exc:
        raise invalid_parameter(f"Invalid MaxResults: {raw_max}") from exc
    if not 1 <= size <= limit:
        raise invalid_parameter(f"MaxResults must be between 1 and {limit}.")
    start = _token_offset(query.get("nextToken"))
    page = items[start:start + size]
    more = start + size < len(items)
    return page, base64.urlsafe_b64encode(f"o:{start + size}".encode()).decode() if more else None


def _token_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        offset = int(value)
    except ValueError as exc:
        raise invalid_parameter("Invalid NextToken.") from exc
    if kind != "o" or offset < 0:
        raise invalid_parameter("Invalid NextToken.")
    return offset
