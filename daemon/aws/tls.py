"""One TLS context for every AWS client of the process.

aiobotocore gives each client's HTTP session a TLS context of its own and loads the CA
bundle into it (`load_verify_locations`): about 20 ms of CPU and a copy of the bundle per
client, before the client's first call answers. The daemon's clients all verify against the
same bundle with the same settings, so `SharedTlsSession` (aiobotocore's HTTP session, named
by `AioConfig(http_session_cls=...)`) hands each the one context built for that bundle. A
proxy with its own CA bundle or a client certificate keeps aiobotocore's own path.
"""

from __future__ import annotations

import functools
import ssl
from typing import Any, cast

import aiohttp
from aiobotocore.httpsession import AIOHTTPSession
from botocore.httpsession import create_urllib3_context, get_cert_path


@functools.cache
def verifying_context(ca_certs: str) -> ssl.SSLContext:
    """The context aiobotocore would build (botocore's defaults) with `ca_certs` loaded."""
    context = cast("ssl.SSLContext", create_urllib3_context())
    context.load_verify_locations(ca_certs, None, None)
    return context


class SharedTlsSession(AIOHTTPSession):
    """aiobotocore's HTTP session whose connections share one verifying TLS context."""

    def _create_connector(self, proxy_url: str | None) -> aiohttp.TCPConnector:
        # aiobotocore's own method and state, which its type stubs leave out
        this: Any = self
        own: Any = super()
        ca_certs = get_cert_path(this._verify) if this._verify else None
        if proxy_url or this._cert_file or not ca_certs:
            return cast("aiohttp.TCPConnector", own._create_connector(proxy_url))
        return aiohttp.TCPConnector(limit=this._max_pool_connections,
                                    ssl=verifying_context(ca_certs), **this._connector_args)
