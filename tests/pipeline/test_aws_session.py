"""The AWS session: outcome labels of calls stay bounded and say what happened; botocore's data
is loaded lean without changing what any client resolves."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from aiobotocore.session import AioSession
from botocore.exceptions import UnknownServiceError

from daemon.aws.calls import CALLS, operations
from daemon.aws.session import ENDPOINT_PREFIXES, AwsClients, classify, lean_botocore_session
from tests.deploy.aws_calls import scan


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


def shape_tree(shape: Any, seen: frozenset[str] = frozenset()) -> Any:
    """A shape as botocore resolved it: its type and serialization, and its members' (to the
    first repetition of a recursive shape)."""
    if shape is None:
        return None
    if shape.name in seen:
        return shape.name
    seen |= {shape.name}
    tree: dict[str, Any] = {"type": shape.type_name, "serialization": shape.serialization,
                            "metadata": shape.metadata}
    if shape.type_name == "structure":
        tree["members"] = {k: shape_tree(v, seen) for k, v in shape.members.items()}
    elif shape.type_name == "list":
        tree["member"] = shape_tree(shape.member, seen)
    elif shape.type_name == "map":
        tree["key"], tree["value"] = shape_tree(shape.key, seen), shape_tree(shape.value, seen)
    return tree


def operation_tree(model: Any, name: str) -> dict[str, Any]:
    op = model.operation_model(name)
    return {"http": op.http, "input": shape_tree(op.input_shape),
            "output": shape_tree(op.output_shape),
            "errors": sorted(e.name for e in op.error_shapes)}


def resolved(client: Any, operations: Any = None) -> dict[str, Any]:
    """What a client resolved from botocore's data: where it sends, how it signs, what it
    calls (`operations`, default: every operation its model has)."""
    model = client.meta.service_model
    signer = client._request_signer
    operations = model.operation_names if operations is None else operations
    return {"endpoint": client.meta.endpoint_url, "region": client.meta.region_name,
            "partition": client.meta.partition, "signing": (signer._signing_name,
                                                            signer._region_name,
                                                            signer._signature_version),
            "prefix": model.endpoint_prefix,
            "context": [p.name for p in model.client_context_parameters],
            "operations": {op: operation_tree(model, op) for op in operations},
            "errors": sorted(shape.name for shape in model.error_shapes)}


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "us-gov-west-1", "cn-north-1"])
async def test_the_lean_data_loader_resolves_every_client_as_botocore_does(region: str) -> None:
    """Only the daemon's services' endpoints, the operations it calls and no documentation are
    loaded, and every client the daemon makes resolves its endpoint, signing, operations
    (their shapes to the last member) and errors as it would with everything loaded."""
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
            "region_name": region}
    full, lean = AioSession(), lean_botocore_session()
    for service in ENDPOINT_PREFIXES:
        async with (full.create_client(service, **keys) as plain,  # type: ignore[call-overload]
                    lean.create_client(service, **keys) as cut):  # type: ignore[call-overload]
            discovery = plain.meta.service_model.endpoint_discovery_operation
            kept = operations(service) | ({discovery.name} if discovery else set())
            assert sorted(cut.meta.service_model.operation_names) == sorted(kept)
            assert resolved(cut) == resolved(plain, kept), service
            assert plain.meta.service_model.endpoint_prefix == ENDPOINT_PREFIXES[service]
    kept = lean.get_component("data_loader").load_data("endpoints")
    assert {s for p in kept["partitions"] for s in p["services"]} <= set(ENDPOINT_PREFIXES.values())
    model = lean.get_component("data_loader").load_service_model("backup", "service-2")
    assert model["operations"]["StartBackupJob"]["documentation"] == ""


def test_the_operations_kept_are_those_the_daemon_calls() -> None:
    """calls.py names what the source calls, as the scan of tests/deploy reads it: a call
    added to the code without its operation would find no method on the client."""
    called, unresolved = scan()
    assert not unresolved
    assert {(c.service, c.operation) for c in called} == {
        (service, op) for service, ops in CALLS.items() for op in ops}


async def test_a_client_has_only_the_kept_operations() -> None:
    keys = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing",
            "region_name": "us-east-1"}
    async with lean_botocore_session().create_client("sqs", **keys) as sqs:  # type: ignore[call-overload]
        assert hasattr(sqs, "receive_message")
        assert not hasattr(sqs, "send_message")  # the daemon never sends
        assert sqs.exceptions.QueueDoesNotExist  # every error shape is kept


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
