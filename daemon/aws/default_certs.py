"""aiohttp imported without loading the system CA store on the way to ready.

aiohttp builds two default TLS contexts when it is imported and loads the system CA store
into both (`set_default_verify_paths`): about 45 ms of CPU and 1.9 MB, before anything has
run. The daemon's AWS connections do not use them (each carries the shared context of
`tls.py`, or aiobotocore's own), and its HTTP server is plain HTTP. `run` imports aiohttp
inside `deferred_default_certs()`: a context that asks for the default store then is noted,
not loaded. `load_deferred()`, called once the daemon is ready, loads it into the contexts
that verify, so aiohttp's defaults are whole again for anyone who uses them; a context that
verifies nothing (`CERT_NONE`, aiohttp's `ssl=False` context) never reads a store, and is
left without one.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator

_deferred: list[ssl.SSLContext] = []


@contextlib.contextmanager
def deferred_default_certs() -> Iterator[None]:
    """While inside, `SSLContext.set_default_verify_paths` notes the context instead of
    loading the store. Meant only around imports (single-threaded, before the loop runs)."""
    cls = ssl.SSLContext

    def note(self: ssl.SSLContext) -> None:
        _deferred.append(self)

    cls.set_default_verify_paths = note  # type: ignore[method-assign]
    try:
        yield
    finally:
        del cls.set_default_verify_paths  # the inherited method again


def load_deferred() -> int:
    """Load the default store into every noted context that verifies; how many it loaded."""
    loaded = 0
    while _deferred:
        context = _deferred.pop()
        if context.verify_mode != ssl.CERT_NONE:
            context.set_default_verify_paths()
            loaded += 1
    return loaded
