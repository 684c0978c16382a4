"""The AWS session: outcome labels of calls stay bounded and say what happened; botocore's data
is loaded lean without changing what any client resolves."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import UnknownServiceError

from daemon.aws.session import ENDPOINT_PREFIXES, AwsClients, classify, lean_botocore_session


@pytest.mark.parametrize(("status", "code", "outcome"), [
    (200, None, "ok"),
    (400, "ThrottlingException", "throttled"),
    (400, "ProvisionedThroughputExceededException", "throttled"),
    (503, "RequestLimitExceeded", "throttled"),
    (400, "ValidationException", "client_error"),
    (404, "ResourceNotFoundException", "client_error"),
    (500, "InternalServerError", "server_error"),
    (503, None, "server_error"),
])
def test_calls_are_classified_into_a_bounded_set(status: int, code: str | None,
                                                 outcome: str) -> None:
    assert classify(status, code) == outcome


def resolved(client: Any) -> dict[str, Any]:
    """What a client resolved from botocore's data: where it sends, how it signs, what it calls."""
    model = client.meta.service_model
    signer = client._request_signer
    return {"endpoint": client.meta.endpoint_url, "region": client.meta.region_name,
            "partition": client.meta.partition, "signing": (signer._signing_name,
                                                            signer._region_name,
                                                            signer._signature_version),
            "prefix": model.endpoint_prefix,
            "context": [p.name for p in model.client_context_parameters],
            "operations": {op: sorted(model.operation_model(op).input_shape.members)
                           if model.operation_model(op).input_shape else []
                           for op in model.operation_names}}


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "us-gov-west-1", "cn-north-1"])
async def test_the_lean_data_loader_resolves_every_client_as_botocore_does(region: str) -> None:
    """Only the daemon's services' endpoints and no documentation are loaded, and every
    client the daemon makes resolves its endpoint, signing and operations as it would with
    everything loaded."""
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
            "region_name": region}
    full, lean = AioSession(), lean_botocore_session()
    for service in ENDPOINT_PREFIXES:
        async with (full.create_client(service, **keys) as plain,  # type: ignore[call-overload]
                    lean.create_client(service, **keys) as cut):  # type: ignore[call-overload]
            assert resolved(cut) == resolved(plain), service
            assert plain.meta.service_model.endpoint_prefix == ENDPOINT_PREFIXES[service]
    kept = lean.get_component("data_loader").load_data("endpoints")
    assert {s for p in kept["partitions"] for s in p["services"]} <= set(ENDPOINT_PREFIXES.values())
    model = lean.get_component("data_loader").load_service_model("backup", "service-2")
    assert model["operations"]["StartBackupJob"]["documentation"] == ""


def test_every_accessor_is_a_service_whose_endpoints_are_kept() -> None:
    accessors = {name for name, value in vars(AwsClients).items()
                 if inspect.iscoroutinefunction(value) and not name.startswith("_")}
    assert accessors == set(ENDPOINT_PREFIXES)  # STS: roles and the caller's identity


def test_the_lean_data_loader_builds_plain_dicts() -> None:
    """botocore parses its data into OrderedDicts, twice the memory of a dict for nothing the
    clients use: the lean loader builds plain dicts, for the models and the endpoints alike."""
    loader = lean_botocore_session().get_component("data_loader")
    model = loader.load_service_model("sqs", "service-2")
    endpoints = loader.load_data("endpoints")
    for data in (model, model["shapes"], model["operations"]["ReceiveMessage"], endpoints,
                 endpoints["partitions"][0]["services"]):
        assert type(data) is dict


def test_the_lean_data_loader_knows_only_the_daemons_services() -> None:
    """botocore looks into every service it ships when it first lists them (three times
    before the first call): the lean loader lists only the daemon's, and says another is
    unknown."""
    loader = lean_botocore_session().get_component("data_loader")
    assert loader.list_available_services("service-2") == sorted(ENDPOINT_PREFIXES)
    assert set(loader.list_available_services("waiters-2")) < set(ENDPOINT_PREFIXES)
    with pytest.raises(UnknownServiceError, match="ec2"):
        loader.load_service_model("ec2", "service-2")
