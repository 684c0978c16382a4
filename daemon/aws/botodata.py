"""botocore's data files, loaded lean: the daemon's services and operations only, no documentation.

On the first client botocore parses `endpoints.json` (700 KiB: every partition x every AWS
service, about 7 MB once it is Python objects), and on each service's first client its
`service-2.json`, 70-80 % of which is documentation botocore reads only to write docstrings.
The daemon calls nine services and never reads a docstring. The lean loader knows only the
daemon's services (botocore's own lists all it ships, three times before the first call);
its file loader (botocore's own, `Loader.file_loader`) keeps the entries of the daemon's
services in `endpoints.json` exactly as they are, skipping the others without building them
(msgspec reads them as raw bytes). Of a service model it keeps the operations the daemon
calls (calls.py), the shapes they reach and every error shape, skipping the rest unbuilt as
well, and empties the `documentation` strings of what it keeps (the keys stay: botocore
reads some). Every other data file and value is what botocore loads, as plain dicts rather
than botocore's OrderedDicts (dicts keep their order; botocore relies on nothing else an
OrderedDict has): about half the memory, 0.9 MB less for the queue-only daemon's service
models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

import msgspec
from botocore.exceptions import DataNotFoundError
from botocore.loaders import JSONFileLoader, Loader

Pairs = list[tuple[str, Any]]


class LeanFileLoader(JSONFileLoader):
    """botocore's JSON file loader, keeping only the endpoints of `endpoint_prefixes` and,
    of a service model, the operations `operations(service)` names."""

    def __init__(self, endpoint_prefixes: Iterable[str],
                 operations: Callable[[str], frozenset[str]]) -> None:
        self._prefixes = frozenset(endpoint_prefixes)
        self._operations = operations

    def _load_file(self, full_path: str, open_method: Callable[..., IO[bytes]]) -> Any:
        path = Path(full_path)
        if not path.is_file():
            return None
        with open_method(full_path, "rb") as fp:
            payload = fp.read()
        name = path.name
        if name == "endpoints.json":
            return endpoints(payload, self._prefixes)
        if name.startswith("service-2.json"):  # data/<service>/<api version>/service-2.json
            return service_model(payload, self._operations(path.parent.parent.name))
        return json.loads(payload)


class LeanLoader(Loader):
    """botocore's data loader, over the same search paths, for `services` (service name ->
    endpoint prefix) only: their files through LeanFileLoader (with the `operations` of
    each), and only them as known."""

    def __init__(self, services: Mapping[str, str], search_paths: Iterable[str],
                 operations: Callable[[str], frozenset[str]]) -> None:
        super().__init__(extra_search_paths=list(search_paths),
                         file_loader=LeanFileLoader(services.values(), operations),
                         include_default_search_paths=False)
        self._services = sorted(services)

    def load_service_model(self, service_name: str, type_name: str,
                           api_version: str | None = None) -> Any:
        """botocore's, without the stubs its `sdk-extras` files merge into shapes the lean
        model left out (RDS adds members to messages of operations the daemon never calls)."""
        model = super().load_service_model(service_name, type_name, api_version)
        if type_name == "service-2":
            shapes = model["shapes"]
            for name in [name for name, shape in shapes.items() if "type" not in shape]:
                del shapes[name]
        return model

    def list_available_services(self, type_name: str) -> list[str]:
        """The daemon's services that have `type_name` data. botocore's own looks into the
        folder of every service it ships (~420: ~8 ms per data type, three types before the
        first call answers); asked for another service, botocore says it is unknown."""
        return [s for s in self._services if self._has(s, type_name)]

    def _has(self, service: str, type_name: str) -> bool:
        try:
            return bool(self.list_api_versions(service, type_name))
        except DataNotFoundError:
            return False


def without_documentation(pairs: Pairs) -> dict[str, Any]:
    """A service model's object with its `documentation` string emptied."""
    return {key: "" if key == "documentation" else value for key, value in pairs}


def service_model(payload: bytes, operations: frozenset[str]) -> dict[str, Any]:
    """A `service-2.json` with only `operations` (and the one botocore calls for endpoint
    discovery, if any) and the shapes they reach, together with every error shape; the rest
    is skipped without being built."""
    top = msgspec.json.decode(payload, type=dict[str, msgspec.Raw])
    model = {key: _model_json(raw) for key, raw in top.items()
             if key not in ("operations", "shapes")}
    ops = msgspec.json.decode(top["operations"], type=dict[str, msgspec.Raw])
    model["operations"] = {name: op for name, raw in ops.items()
                           if (op := _kept_operation(name, raw, operations)) is not None}
    raw_shapes = msgspec.json.decode(top["shapes"], type=dict[str, msgspec.Raw])
    shapes: dict[str, Any] = {}
    wanted = [ref["shape"] for op in model["operations"].values()
              for ref in (op.get("input"), op.get("output"), *op.get("errors", ())) if ref]
    wanted += [name for name, raw in raw_shapes.items() if b'"exception"' in bytes(raw)]
    while wanted:
        name = wanted.pop()
        if name in shapes:
            continue
        shape = shapes[name] = _model_json(raw_shapes[name])
        refs = [shape.get("member"), shape.get("key"), shape.get("value"),
                *shape.get("members", {}).values()]
        wanted += [ref["shape"] for ref in refs if ref]
    model["shapes"] = {name: shapes[name] for name in raw_shapes if name in shapes}
    return model


def _kept_operation(name: str, raw: msgspec.Raw,
                    operations: frozenset[str]) -> dict[str, Any] | None:
    if name not in operations and b'"endpointoperation"' not in bytes(raw):
        return None
    op: dict[str, Any] = _model_json(raw)
    return op if name in operations or op.get("endpointoperation") else None


def _model_json(raw: msgspec.Raw) -> Any:
    return json.loads(bytes(raw), object_pairs_hook=without_documentation)


def endpoints(payload: bytes, prefixes: frozenset[str]) -> dict[str, Any]:
    """`endpoints.json` with each partition's services cut down to `prefixes`."""
    top = msgspec.json.decode(payload, type=dict[str, msgspec.Raw])
    data = {key: _json(raw) for key, raw in top.items() if key != "partitions"}
    partitions = msgspec.json.decode(top["partitions"], type=list[dict[str, msgspec.Raw]])
    data["partitions"] = [_partition(partition, prefixes) for partition in partitions]
    return data


def _partition(partition: dict[str, msgspec.Raw], prefixes: frozenset[str],
               ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, raw in partition.items():
        if key == "services":
            services = msgspec.json.decode(raw, type=dict[str, msgspec.Raw])
            out[key] = {name: _json(value) for name, value in services.items()
                        if name in prefixes}
        else:
            out[key] = _json(raw)
    return out


def _json(raw: msgspec.Raw) -> Any:
    return json.loads(bytes(raw))
