"""Every AWS client of the process verifies TLS with one shared context: the CA bundle is
loaded once, not once per client."""

from __future__ import annotations

import ssl
from typing import Any

import pytest
from botocore.httpsession import create_urllib3_context, get_cert_path
from prometheus_client import CollectorRegistry

from daemon.aws.session import AwsClients
from daemon.aws.tls import verifying_context
from daemon.config.settings import AwsSettings
from daemon.obs.metrics import Metrics

pytestmark = pytest.mark.e2e


async def test_clients_load_the_ca_bundle_once(aws_env: dict[str, str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[Any] = []
    load = ssl.SSLContext.load_verify_locations

    def counting(context: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        loads.append(args)
        load(context, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting)
    verifying_context.cache_clear()
    async with AwsClients(AwsSettings(endpoint_url=aws_env["AWS_ENDPOINT_URL"]),
                          aws_env["AWS_REGION"], Metrics(CollectorRegistry())) as aws:
        await (await aws.dynamodb()).list_tables()
        await (await aws.sts()).get_caller_identity()
        await (await aws.backup()).list_backup_vaults()
    assert len(loads) == 1


def test_the_shared_context_verifies_certificates_as_aiobotocore_does() -> None:
    """botocore's context settings (aiobotocore's own), with the bundle's certificates."""
    context = verifying_context(get_cert_path(True))
    own = create_urllib3_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert (context.options, context.check_hostname, context.minimum_version) == (
        own.options, own.check_hostname, own.minimum_version)
    assert context.cert_store_stats()["x509_ca"] > 0
