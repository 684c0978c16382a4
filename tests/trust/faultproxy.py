"""A fault-injecting HTTP proxy between an AWS client and the stand-in (tests and soak only).

Point a client's `AWS_ENDPOINT_URL` at the proxy; it forwards each call to the stand-in, or,
at seeded rates, fails it the way AWS does: HTTP 500/503 with the service's error shape,
throttling errors in each protocol's real shape (`ThrottlingException` JSON for DynamoDB,
`RequestThrottled` with `x-amzn-query-error` for SQS, `Throttling` query XML for SNS and
CloudWatch, `SlowDown` for S3), a connection reset before the call reaches AWS, a reset
after AWS executed it (the answer is lost: the nastiest case), and a delay past the
client's read timeout. Every decision and its kind are counted, so tests can report figures.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import socket
import struct
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import aiohttp
import botocore.session
from aiohttp import web
from yarl import URL

KINDS = ("server_error", "throttle", "reset", "lost_response", "timeout")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "expect",
              "proxy-connection", "te", "upgrade", "trailer"}
SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
THROTTLE_CODES = {"dynamodb": ("ThrottlingException", "ProvisionedThroughputExceededException",
                               "RequestLimitExceeded"),
                  "sqs": ("RequestThrottled",), "s3": ("SlowDown",),
                  "backup": ("ThrottlingException", "LimitExceededException")}


class Call(NamedTuple):
    """Which AWS operation a request is, as far as the wire tells."""

    service: str
    operation: str


@dataclass
class FaultPlan:
    """Rates are shares of all calls; `applies` limits which calls may be failed at all."""

    seed: int = 0
    rate: float = 0.2
    kinds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(KINDS, 1.0))
    timeout_seconds: float = 3.0
    applies: Callable[[Call], bool] = lambda _call: True
    # operation -> the faults of its first calls, in order (None passes one through): the
    # cases a test must see happen, whatever the seed and the order of calls.
    scripted: dict[str, list[str | None]] = field(default_factory=dict)

    def pick(self, rng: random.Random, call: Call) -> str | None:
        """The fault to inject into this call, or None to pass it through."""
        if not self.applies(call) or rng.random() >= self.rate:
            return None
        kinds = [k for k, w in self.kinds.items() if w > 0]
        return rng.choices(kinds, weights=[self.kinds[k] for k in kinds])[0]


def _protocols() -> dict[str, tuple[str, str]]:
    """Signing name -> (botocore service name, protocol), from botocore's own models."""
    session = botocore.session.get_session()
    out: dict[str, tuple[str, str]] = {}
    for name in ("dynamodb", "sqs", "sns", "cloudwatch", "backup", "ssm", "rds", "s3", "sts",
                 "iam"):
        meta = session.get_service_model(name).metadata
        out[meta.get("signingName") or meta["endpointPrefix"]] = (name, meta["protocol"])
    return out


PROTOCOLS = _protocols()


def identify(headers: Any, path: str, body: bytes) -> Call:
    """The service from the SigV4 scope; the operation from the target, Action or path."""
    match = SCOPE.search(headers.get("Authorization", ""))
    service = PROTOCOLS.get(match.group(2), (match.group(2), ""))[0] if match else "unknown"
    target = headers.get("X-Amz-Target", "")
    if target:
        return Call(service, target.rsplit(".", 1)[-1])
    action = re.search(rb"(?:^|&)Action=([A-Za-z]+)", body)
    if action:
        return Call(service, action.group(1).decode())
    return Call(service, path.split("?", 1)[0])


def error_response(call: Call, kind: str, rng: random.Random) -> web.Response:
    """An error in the shape the service's protocol really uses."""
    service, protocol = PROTOCOLS.get(_signing(call.service), (call.service, "json"))
    if kind == "throttle":
        code = rng.choice(THROTTLE_CODES.get(service, ("Throttling",)))
        status = 503 if service == "s3" else 400
    else:
        status = rng.choice((500, 503))
        code = "InternalFailure" if status == 500 else "ServiceUnavailable"
    message = f"injected {kind} by faultproxy"
    headers = {"x-amzn-RequestId": f"fault-{rng.getrandbits(32):08x}"}
    if protocol == "json":
        if service == "sqs":  # awsQueryCompatible: the query code travels in a header
            headers["x-amzn-query-error"] = f"{code};{'Sender' if status < 500 else 'Receiver'}"
        body = json.dumps({"__type": f"com.amazonaws.{service}#{code}", "message": message})
        return web.Response(status=status, text=body, headers=headers,
                            content_type="application/x-amz-json-1.0")
    if protocol == "rest-json":
        headers["x-amzn-ErrorType"] = code
        return web.Response(status=status, text=json.dumps({"message": message}),
                            headers=headers, content_type="application/json")
    if protocol == "rest-xml":
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    else:
        body = (f"<ErrorResponse><Error><Type>{'Sender' if status < 500 else 'Receiver'}</Type>"
                f"<Code>{code}</Code><Message>{message}</Message></Error>"
                f"<RequestId>{headers['x-amzn-RequestId']}</RequestId></ErrorResponse>")
    return web.Response(status=status, text=body, headers=headers, content_type="text/xml")


def _signing(service: str) -> str:
    return "monitoring" if service == "cloudwatch" else service


def reset(request: web.Request) -> None:
    """Drop the client's connection with a TCP RST (SO_LINGER 0), as a failing network does."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class FaultProxy:
    """`async with FaultProxy(upstream, plan) as proxy:` then use `proxy.url`."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.plan = plan or FaultPlan(rate=0.0)
        self.rng = random.Random(self.plan.seed)
        self.calls: Counter[Call] = Counter()
        self.faults: Counter[str] = Counter()
        self.faults_by_call: Counter[tuple[Call, str]] = Counter()
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> FaultProxy:
        self._session = aiohttp.ClientSession(auto_decompress=False,
                                              timeout=aiohttp.ClientTimeout(total=None))
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False,
                                    shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    @property
    def injected(self) -> int:
        return sum(self.faults.values())

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        call = identify(request.headers, request.raw_path, body)
        self.calls[call] += 1
        script = self.plan.scripted.get(call.operation, [])
        seen = sum(n for c, n in self.calls.items() if c.operation == call.operation)
        kind = script[seen - 1] if seen <= len(script) else self.plan.pick(self.rng, call)
        if kind is not None:
            self.faults[kind] += 1
            self.faults_by_call[call, kind] += 1
        if kind in ("server_error", "throttle"):
            return error_response(call, kind, self.rng)
        if kind == "reset":
            reset(request)
            return web.Response()
        if kind == "timeout":
            await asyncio.sleep(self.plan.timeout_seconds)
        status, headers, payload = await self._forward(request, body)
        if kind == "lost_response":
            reset(request)
            return web.Response()
        return web.Response(status=status, headers=headers, body=payload)

    async def _forward(self, request: web.Request,
                       body: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        url = URL(self.upstream + request.raw_path, encoded=True)
        async with self._session.request(request.method, url, headers=headers, data=body,
                                         allow_redirects=False) as resp:
            payload = await resp.read()
            out = {k: v for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP}
            return resp.status, out, payload


class ThreadedFaultProxy:
    """The proxy on its own event loop in a thread: for subprocess daemons and sync tests."""

    def __init__(self, upstream: str, plan: FaultPlan | None = None) -> None:
        self.proxy = FaultProxy(upstream, plan)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="faultproxy",
                                        daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.proxy.__aenter__(), self._loop).result(10)
        return self.proxy

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.proxy.__aexit__(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
