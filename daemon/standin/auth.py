"""moto's IAM enforcement, applied to the faked AWS Backup operations too.

With `INITIAL_NO_AUTH_ACTION_COUNT` set (moto's switch for IAM checks, also settable via
`POST /moto-api/reset-auth`), moto verifies the signature and the caller's policies on its
own APIs. The fake does the same, through moto's `IAMRequest`, for `backup:<Operation>`, so a
least-privilege policy that lacks `backup:StartBackupJob` is refused here as AWS would
(`AccessDeniedException`, 403) and the least-privilege tests can prove every statement.
"""

from __future__ import annotations

from typing import Any

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import _RESTError
from werkzeug.datastructures import EnvironHeaders

from daemon.standin.protocol import BackupApiError

# moto's error code -> AWS Backup's (REST-JSON services say AccessDeniedException)
_CODES = {"AccessDenied": "AccessDeniedException",
          "InvalidClientTokenId": "UnrecognizedClientException"}


def authorize(environ: dict[str, Any], operation: str, raw_uri: str, body: bytes,
              account: str) -> None:
    """Raise the AWS error for a request the caller may not make; count it like moto does."""
    if ActionAuthenticatorMixin.request_count < settings.INITIAL_NO_AUTH_ACTION_COUNT:
        ActionAuthenticatorMixin.request_count += 1
        return
    from moto.iam.access_control import IAMRequest  # noqa: PLC0415 - only when enforcing

    try:
        request = IAMRequest(account_id=account, method=environ.get("REQUEST_METHOD", "GET"),
                             path=raw_uri, data={}, body=body,
                             headers=EnvironHeaders(environ),  # type: ignore[arg-type]
                             action=operation)
        request.check_signature()
        request.check_action_permitted("*")
    except _RESTError as exc:
        code = _CODES.get(exc.error_type, exc.error_type)
        raise BackupApiError(code, exc.message, int(exc.code or 403)) from exc
