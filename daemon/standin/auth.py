"""moto's IAM enforcement, applied to the faked AWS Backup operations too.

With `INITIAL_NO_AUTH_ACTION_COUNT` set (moto's switch for IAM checks, also settable via
`POST /moto-api/reset-auth`), moto verifies the signature and the caller's policies on its
own APIs. The fake does the same, through moto's `IAMRequest`, for `backup:<Operation>`, so a
least-privilege policy that lacks `backup:StartBackupJob` is refused here as AWS would
(`AccessDeniedException`, 403) and the least-privilege tests can prove every statement.

`caller_account` says which account a request acts as, the way moto's own services decide
it, so an assumed role's credentials reach that account's vaults, jobs and recovery points.
"""

from __future__ import annotations

import os
import re
from typing import Any

from moto import settings
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import _RESTError
from werkzeug.datastructures import EnvironHeaders

from daemon.standin.protocol import BackupApiError

# moto's error code -> AWS Backup's (REST-JSON services say AccessDeniedException)
_CODES = {"AccessDenied": "AccessDeniedException",
          "InvalidClientTokenId": "UnrecognizedClientException"}
_ACCESS_KEY = re.compile(r"Credential=([A-Za-z0-9]+)/")


def caller_account(environ: dict[str, Any]) -> str:
    """The account of the request's caller, in moto's order: `MOTO_ACCOUNT_ID`, the
    `x-moto-account-id` header, then the access key (an assumed role's keys belong to the
    role's account; unknown keys to moto's default account)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if header := environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return str(header)
    from moto.iam.models import get_account_id_from  # noqa: PLC0415 - moto's, loaded late

    found = _ACCESS_KEY.search(environ.get("HTTP_AUTHORIZATION", ""))
    return get_account_id_from(found[1] if found else "AKIAEXAMPLE")


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
