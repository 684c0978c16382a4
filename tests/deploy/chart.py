"""The Helm chart's documentation and schema, derived from values.yaml and the Settings model.

- `documented_values()` reads values.yaml as helm-docs does: a `# -- text` comment (with
  `#` continuation lines) documents the key below it.
- `readme_table()` is the README's table of every value (Key | Type | Default | Description).
- `config_schema()` is the JSON schema of the `config` value: the daemon's Settings model
  reduced to names, types and required members (no regex patterns: Helm's validator speaks
  RE2, pydantic's patterns are Python's). Field validation beyond that is check-config's.

`.venv/bin/python -m tests.deploy.chart` rewrites README.md's table and the `config` part of
values.schema.json after values.yaml or the Settings model changed; the tests fail until then.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from dataclasses import dataclass
from typing import Any

import yaml

from daemon.config.settings import Settings
from tests.deploy.tools import ROOT

CHART = ROOT / "helm/ddb-backupd"
VALUES = CHART / "values.yaml"
SCHEMA = CHART / "values.schema.json"
README = CHART / "README.md"
TABLE_START, TABLE_END = "<!-- values-table:start -->", "<!-- values-table:end -->"
KEEP = ("type", "enum", "items", "properties", "additionalProperties", "required", "anyOf")


@dataclass
class Value:
    """One documented value: dotted key, its default and the `# --` description."""

    key: str
    default: Any
    description: str

    @property
    def type(self) -> str:
        return {bool: "bool", int: "int", float: "float", str: "string", list: "list",
                dict: "object", type(None): "string"}[type(self.default)]


@functools.cache
def documented_values() -> tuple[Value, ...]:
    """Every key with a `# --` comment, in file order, with its default from the YAML."""
    data = yaml.safe_load(VALUES.read_text())
    out: list[Value] = []
    path: list[tuple[int, str]] = []
    pending: list[str] | None = None
    for line in VALUES.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("# --"):
            pending = [stripped[4:].strip()]
        elif stripped.startswith("#") and pending is not None:
            pending.append(stripped[1:].strip())
        elif match := re.match(r"^(\s*)([A-Za-z0-9_]+):", line):
            indent = len(match[1])
            path = [(i, k) for i, k in path if i < indent] + [(indent, match[2])]
            if pending is not None:
                key = ".".join(k for _, k in path)
                out.append(Value(key, _lookup(data, key), " ".join(pending)))
            pending = None
    return tuple(out)


def leaf_keys(node: Any, prefix: str = "") -> list[str]:
    """Keys of values.yaml a user sets: sections are walked, everything else is a leaf."""
    documented = {v.key for v in documented_values()}
    if isinstance(node, dict) and node and prefix not in documented:
        return [k for name, child in node.items()
                for k in leaf_keys(child, f"{prefix}.{name}" if prefix else name)]
    return [prefix]


def _lookup(data: Any, key: str) -> Any:
    for part in key.split("."):
        data = data[part]
    return data


def readme_table() -> str:
    rows = ["| Key | Type | Default | Description |", "|-----|------|---------|-------------|"]
    for value in documented_values():
        default = json.dumps(value.default)
        rows.append(f"| {value.key} | {value.type} | `{default}` | "
                    f"{value.description.replace('|', '\\|')} |")
    return "\n".join(rows)


def config_schema() -> dict[str, Any]:
    """The Settings model as a JSON schema of names and types, every object closed."""
    full = Settings.model_json_schema()
    schema = _simplify(full, full.get("$defs", {}))
    schema.pop("required", None)  # any key may come from the environment instead
    schema["description"] = ("The daemon's settings as a YAML file (BACKUPD_CONFIG_FILE); "
                             "generated from the Settings model by tests/deploy/chart.py.")
    return schema


def _simplify(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_simplify(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _simplify(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in node and all("type" in o and not set(o) & {"properties", "items", "anyOf"}
                               for o in node["anyOf"]):
        return {"type": [o["type"] for o in node["anyOf"]]}
    out = {k: _simplify(v, defs) if k != "properties" else
           {name: _simplify(prop, defs) for name, prop in v.items()}
           for k, v in node.items() if k in KEEP}
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def write() -> None:
    """Rewrite the generated parts of README.md and values.schema.json."""
    readme = README.read_text()
    head, _, rest = readme.partition(TABLE_START)
    _, _, tail = rest.partition(TABLE_END)
    README.write_text(f"{head}{TABLE_START}\n{readme_table()}\n{TABLE_END}{tail}")
    schema = json.loads(SCHEMA.read_text())
    schema["properties"]["config"] = config_schema()
    SCHEMA.write_text(json.dumps(schema, indent=2) + "\n")


if __name__ == "__main__":
    write()
    sys.stdout.write(f"rewrote {README.relative_to(ROOT)} and {SCHEMA.relative_to(ROOT)}\n")
