"""Stand-in repair (plans feature): moto's IAM check of signed requests without a body.

With IAM enforcement on, moto recomputes each request's SigV4 signature. When the raw body is
empty it signs the request's parsed parameters as the body: right for form-encoded POSTs
(SQS, SNS, CloudWatch: werkzeug has parsed the form away), wrong for GET, HEAD and DELETE,
where it signs the query, or, when there is none, the request's headers, so every such REST
call (AWS Backup's `GET /backup/plans/`, `GET /backup-vaults/{name}`, `GET /tags/{arn}/`, ...)
is refused as `SignatureDoesNotMatch`. AWS signs the empty payload those requests carry;
`install()` makes moto do the same for them. Idempotent; `StandIn.start` calls it.
"""

from __future__ import annotations

from moto.iam.access_control import IAMRequestBase

_MARK = "_backupd_empty_payload"
BODILESS = frozenset({"GET", "HEAD", "DELETE"})


def install() -> None:
    """Patch moto's signature check once per process."""
    original = IAMRequestBase._create_aws_request
    if getattr(original, _MARK, False):
        return

    def create_aws_request(self: IAMRequestBase) -> object:
        if self._body or self._method.upper() not in BODILESS:
            return original(self)
        saved = self._data
        self._data = b""  # type: ignore[assignment]
        try:
            return original(self)
        finally:
            self._data = saved

    setattr(create_aws_request, _MARK, True)
    IAMRequestBase._create_aws_request = create_aws_request  # type: ignore[assignment,method-assign]
