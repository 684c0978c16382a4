"""aiohttp's default TLS contexts get the system CA store after start-up, not on import; the
ones that verify get it then, and nothing else is changed."""

from __future__ import annotations

import ssl
import subprocess
import sys

from daemon.aws.default_certs import deferred_default_certs, load_deferred


def _cas(context: ssl.SSLContext) -> int:
    return context.cert_store_stats()["x509_ca"]


def test_the_store_is_loaded_later_into_the_contexts_that_verify() -> None:
    system = _cas(ssl.create_default_context())
    with deferred_default_certs():
        verifying = ssl.create_default_context()
        trusting = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        trusting.check_hostname = False
        trusting.verify_mode = ssl.CERT_NONE
        trusting.set_default_verify_paths()
    assert (_cas(verifying), _cas(trusting)) == (0, 0)
    assert "set_default_verify_paths" not in vars(ssl.SSLContext)  # the real method again
    assert _cas(ssl.create_default_context()) == system

    assert load_deferred() == 1
    assert (_cas(verifying), _cas(trusting)) == (system, 0)
    assert load_deferred() == 0


def test_aiohttp_imported_inside_loads_no_store_until_asked() -> None:
    script = """
from daemon.aws.default_certs import deferred_default_certs, load_deferred
with deferred_default_certs():
    from aiohttp import connector
verified = connector._SSL_CONTEXT_VERIFIED
print(verified.cert_store_stats()["x509_ca"], load_deferred(), verified.cert_store_stats()["x509_ca"])
"""
    out = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True,
                         text=True).stdout.split()
    before, loaded, after = map(int, out)
    assert (before, loaded) == (0, 1)
    assert after == _cas(ssl.create_default_context()) > 0
