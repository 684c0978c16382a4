"""One aioboto3 session for the process; clients built once per service and shared.

Each service has a typed accessor (`await aws.dynamodb()` is a `DynamoDBClient`), so mypy
checks every call's parameters and reads its response as the API's TypedDict. The types come
from `types-aiobotocore-*`, a development dependency: they are imported for type checking
only, never at run time. A component is handed the accessor of each service it calls
(`Connect[DynamoDBClient]`), not the whole set.

Retries use botocore's `adaptive` mode (client-side rate limiting on throttles); timeouts
are bounded; the clients share one TLS context (tls.py); an optional role is assumed through
STS with refreshable credentials. Every call is counted in
`backupd_aws_api_calls_total{service,operation,outcome}` through botocore's event hooks, so
no adapter can forget to count. `after-call` fires once per call, after botocore's own
retries: the retries it absorbed (throttles among them) are counted from the answer's
`ResponseMetadata.RetryAttempts`, and the call's duration, retries included, is timed from
`before-call`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import UTC
from typing import TYPE_CHECKING, Any, cast

import aioboto3
from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioRefreshableCredentials
from aiobotocore.session import AioSession, get_session
from botocore.credentials import CredentialProvider

from daemon.aws.botodata import LeanLoader
from daemon.aws.calls import operations
from daemon.aws.errors import THROTTLING_CODES
from daemon.aws.tls import SharedTlsSession
from daemon.config.settings import AwsSettings
from daemon.obs.metrics import Metrics

if TYPE_CHECKING:
    from aiobotocore.client import AioBaseClient
    from aiobotocore.session import ClientCreatorContext
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_cloudwatch.client import CloudWatchClient
    from types_aiobotocore_dynamodb.client import DynamoDBClient
    from types_aiobotocore_rds.client import RDSClient
    from types_aiobotocore_s3.client import S3Client
    from types_aiobotocore_sns.client import SNSClient
    from types_aiobotocore_sqs.client import SQSClient
    from types_aiobotocore_ssm.client import SSMClient
    from types_aiobotocore_sts.client import STSClient

type Connect[C] = Callable[[], Awaitable[C]]
"""How a component reaches one service: `await connect()` is the shared client."""
# Every service the daemon calls (an accessor each, STS for an assumed role), and the
# endpoint prefix botocore resolves it by: the only endpoints it loads (botodata.py).
ENDPOINT_PREFIXES = {"sqs": "sqs", "sns": "sns", "dynamodb": "dynamodb", "backup": "backup",
                     "cloudwatch": "monitoring", "ssm": "ssm", "rds": "rds", "s3": "s3",
                     "sts": "sts"}
STARTED = "backupd_started"  # the request context's key for the loop time a call began


def retry_attempts(parsed: Mapping[str, Any]) -> int:
    """How many times botocore retried the call that gave this answer (0 when not said)."""
    meta = parsed.get("ResponseMetadata", {})
    attempts = meta.get("RetryAttempts", 0) if isinstance(meta, Mapping) else 0
    return attempts if isinstance(attempts, int) else 0


def classify(status: int, code: str | None) -> str:
    """Bounded outcome label of one call: ok, throttled, client_error, server_error."""
    if code in THROTTLING_CODES:
        return "throttled"
    if status < 300 and not code:
        return "ok"
    return "server_error" if status >= 500 else "client_error"


def lean_botocore_session() -> AioSession:
    """A botocore session whose data loader knows only the daemon's services and the
    operations it calls (botodata, calls.py)."""
    session = get_session()
    session.register_component("data_loader", LeanLoader(
        ENDPOINT_PREFIXES, session.get_component("data_loader").search_paths, operations))
    return session


class CallerAccount:
    """The account of the daemon's credentials: STS GetCallerIdentity, asked once (and once
    when asked side by side), by whichever capability needs it first."""

    def __init__(self, sts: Callable[[], Awaitable[STSClient]]) -> None:
        self._sts = sts
        self.known: str | None = None
        self._asking = asyncio.Lock()

    async def account(self) -> str:
        if self.known is None:
            async with self._asking:
                if self.known is None:
                    sts = await self._sts()
                    self.known = (await sts.get_caller_identity())["Account"]
        return self.known


class AwsClients:
    """Clients for every service the daemon uses, opened once and closed on exit."""

    def __init__(self, settings: AwsSettings, region: str, metrics: Metrics) -> None:
        self._settings = settings
        self._region = region
        self._metrics = metrics
        self._stack = AsyncExitStack()
        self._clients: dict[str, object] = {}
        self._opening = asyncio.Lock()
        self._session: aioboto3.Session | None = None
        self.identity = CallerAccount(self.sts)

    def config(self) -> AioConfig:
        s = self._settings
        return AioConfig(
            region_name=self._region,
            retries={"mode": "adaptive", "max_attempts": s.max_attempts},
            connect_timeout=s.connect_timeout_seconds,
            read_timeout=s.read_timeout_seconds,
            max_pool_connections=s.max_pool_connections,
            http_session_cls=SharedTlsSession,
        )

    async def __aenter__(self) -> AwsClients:
        s = self._settings
        botocore_session = lean_botocore_session()
        self._session = aioboto3.Session(
            botocore_session=botocore_session, region_name=self._region,
            aws_access_key_id=s.access_key_id.get_secret_value() if s.access_key_id else None,
            aws_secret_access_key=(s.secret_access_key.get_secret_value()
                                   if s.secret_access_key else None),
            aws_session_token=s.session_token.get_secret_value() if s.session_token else None,
        )
        if self._settings.assume_role_arn:
            await self._assume_role(self._settings.assume_role_arn)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
        self._clients.clear()

    async def sqs(self) -> SQSClient:
        return await self._shared("sqs", lambda session: session.client(
            "sqs", config=self.config(), endpoint_url=self._settings.endpoint_url))

    async def sns(self) -> SNSClient:
        return await self._shared("sns", lambda session: session.client(
            "sns", config=self.config(), endpoint_url=self._settings.endpoint_url))

    async def dynamodb(self) -> DynamoDBClient:
        return await self._shared("dynamodb", lambda session: session.client(
            "dynamodb", config=self.config(), endpoint_url=self._settings.endpoint_url))

    async def backup(self) -> BackupClient:
        return await self._shared("backup", lambda session: session.client(
            "backup", config=self.config(), endpoint_url=self._settings.endpoint_url))

    async def cloudwatch(self) -> CloudWatchClient:
        return await self._shared("cloudwatch", lambda session: session.client(
            "cloudwatch", config=self.config(), endpoint_url=self._settings.endpoint_url))

    async def ssm(self) -> SSMClient:
        return await self._shared("ssm", lambda session: session.client(
            "ssm", config=self.config(), endpoint_url=self._settings.endpoint_url))

    async def rds(self) -> RDSClient:
        return await self._shared("rds", lambda session: session.client(
            "rds", config=self.config(), endpoint_url=self._settings.endpoint_url))

    async def s3(self) -> S3Client:
        return await self._shared("s3", lambda session: session.client(
            "s3", config=self.config(), endpoint_url=self._settings.endpoint_url))

    async def sts(self) -> STSClient:
        """STS with the daemon's own credentials (member accounts' roles are assumed here)."""
        return await self._shared("sts", lambda session: session.client(
            "sts", config=self.config(), endpoint_url=self._settings.endpoint_url))

    def session_of(self, credentials: CredentialProvider) -> aioboto3.Session:
        """A session like the daemon's whose credentials come from `credentials` (a member
        account's assumed role), through botocore's public credential resolver."""
        botocore_session = lean_botocore_session()
        botocore_session.get_component("credential_provider").insert_before("env", credentials)
        return aioboto3.Session(botocore_session=botocore_session, region_name=self._region)

    def endpoint_url(self) -> str | None:
        """Where every call goes instead of AWS, if anywhere (`aws.endpoint_url`)."""
        return self._settings.endpoint_url

    def hold[C](self, context: AbstractAsyncContextManager[C]) -> Awaitable[C]:
        """Enter `context` (a member account's client) to close it with the session."""
        return self._stack.enter_async_context(context)

    def watch(self, service: str, client: AioBaseClient) -> None:
        """Count and time a client's calls, as the shared clients' are."""
        self._instrument(service, client)

    async def _shared[C: AioBaseClient](self, service: str,
                         open_client: Callable[[aioboto3.Session], ClientCreatorContext[C]]) -> C:
        """The shared client of `service`, created (once, even when asked concurrently) on
        first use and closed with the session."""
        if service not in self._clients:
            async with self._opening:
                if service not in self._clients:
                    assert self._session is not None, "use AwsClients as an async context manager"
                    client = await self._stack.enter_async_context(open_client(self._session))
                    self._instrument(service, client)
                    self._clients[service] = client
        return cast("C", self._clients[service])

    def _instrument(self, service: str, client: AioBaseClient) -> None:
        metrics = self._metrics

        def before_call(context: dict[str, Any], **_: Any) -> None:
            context[STARTED] = asyncio.get_running_loop().time()

        def took(context: Mapping[str, Any]) -> None:
            if (started := context.get(STARTED)) is not None:
                metrics.aws.took(service, asyncio.get_running_loop().time() - started)

        def after_call(http_response: Any, parsed: Mapping[str, Any], model: Any,
                       context: Mapping[str, Any], **_: Any) -> None:
            parsed = parsed if isinstance(parsed, Mapping) else {}
            error = parsed.get("Error", {})
            code = error.get("Code") if isinstance(error, Mapping) else None
            status = getattr(http_response, "status_code", 200)
            metrics.aws.call(service, model.name, classify(status, code))
            metrics.aws.retried(service, model.name, retry_attempts(parsed))
            took(context)

        def after_call_error(event_name: str, context: Mapping[str, Any], **_: Any) -> None:
            # botocore passes exception= and context=, not the model: the operation is the
            # last part of the event name (after-call-error.<service>.<Operation>). No answer,
            # so no RetryAttempts: the retries of a call that never got one go uncounted.
            metrics.aws.call(service, event_name.rsplit(".", 1)[-1], "network_error")
            took(context)

        client.meta.events.register("before-call.*.*", before_call)
        client.meta.events.register("after-call.*.*", after_call)
        client.meta.events.register("after-call-error.*.*", after_call_error)

    async def _assume_role(self, role_arn: str) -> None:
        """Replace the session's credentials with refreshable ones of `role_arn`."""
        assert self._session is not None
        base = self._session
        endpoint = self._settings.endpoint_url

        async def refresh() -> dict[str, str]:
            async with base.client("sts", endpoint_url=endpoint, config=self.config()) as sts:
                resp = await sts.assume_role(RoleArn=role_arn,
                                             RoleSessionName=self._settings.role_session_name)
            creds = resp["Credentials"]
            return {"access_key": creds["AccessKeyId"], "secret_key": creds["SecretAccessKey"],
                    "token": creds["SessionToken"],
                    "expiry_time": creds["Expiration"].astimezone(UTC).isoformat()}

        metadata = await refresh()
        credentials = AioRefreshableCredentials.create_from_metadata(
            metadata=metadata, refresh_using=refresh, method="sts-assume-role")
        # aioboto3 exposes no setter for refreshable credentials: the well-trodden way in.
        base._session._credentials = credentials  # type: ignore[attr-defined]
