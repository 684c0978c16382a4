"""The Helm chart's documentation and schema, derived from values.yaml and the Settings model.

- `documented_values()` reads values.yaml as helm-docs does: a `# -- text` comment (with
  `#` continuation lines) documents the key below it.
- `readme_table()` is the README's table of every value (Key | Type | Default | Description).
- `config_schema()` is the JSON schema of the `config` value: the daemon's Settings model
  reduced to names, types, required members, and the fields' bounds (minimum and maximum,
  lengths, enums), so that `helm install` refuses what the daemon would refuse (no regex
  patterns: Helm's validator speaks RE2, pydantic's patterns are Python's). Validation
  across fields and of values' syntax is check-config's.
- `shards_schema()` is the schema of `shards`: a list of entries with a unique DNS-label
  `name`, a `config` checked as the top-level `config` is (a `$ref` to it) and an optional
  `replicaCount`; what must differ between shards is the chart's to refuse (_helpers.tpl).
- `alerts_schema()` is the schema of `prometheusRule.alerts` and `prometheusRule.disabled`:
  the alerts of files/rules.yaml by name, `threshold` only for those that have one.
- `default_rules()` is config/prometheus/rules.yaml: the chart's PrometheusRule rendered
  with the default values.

`.venv/bin/python -m tests.deploy.chart` rewrites README.md's table, the generated parts of
values.schema.json and config/prometheus/rules.yaml after values.yaml, files/rules.yaml or the
Settings model changed; the tests fail until then.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

import yaml

from daemon.config.settings import Settings
from tests.deploy.tools import ROOT, tool

CHART = ROOT / "helm/ddb-backupd"
VALUES = CHART / "values.yaml"
SCHEMA = CHART / "values.schema.json"
README = CHART / "README.md"
CHART_RULES = CHART / "files/rules.yaml"
RULES = ROOT / "config/prometheus/rules.yaml"
TABLE_START, TABLE_END = "<!-- values-table:start -->", "<!-- values-table:end -->"
DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DURATION = {"type": "string", "pattern": "^([0-9]+(ms|s|m|h|d|w|y))+$"}
RULES_HEADER = """\
# Prometheus alerting rules of ddb-backupd, for a Prometheus that scrapes the daemon as job
# "ddb-backupd". GENERATED from the Helm chart (helm/ddb-backupd/files/rules.yaml rendered
# with its default values) by `.venv/bin/python -m tests.deploy.chart`: edit that file, not
# this one. The chart's prometheusRule values adapt the same rules to a release (job,
# thresholds, disabled alerts, extra labels). Checked by `promtool check rules`, unit-tested
# by `promtool test rules config/prometheus/rules.test.yaml`; every alert's runbook_url points
# at its section of docs/runbook.md.
"""
BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
          "minItems", "maxItems")
KEEP = ("type", "enum", "const", "items", "properties", "additionalProperties", "required",
        "anyOf", *BOUNDS)


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


def shards_schema() -> dict[str, Any]:
    """`shards`: named entries whose `config` is validated as the top-level `config`."""
    entry = {
        "type": "object", "additionalProperties": False, "required": ["name"],
        "properties": {
            "name": {"type": "string", "pattern": DNS_LABEL, "maxLength": 63},
            "config": {"$ref": "#/properties/config"},
            "replicaCount": {"type": "integer", "minimum": 0},
        }}
    return {"type": "array", "items": entry}


def _simplify(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_simplify(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _simplify(defs[node["$ref"].rsplit("/", 1)[-1]], defs)
    if "anyOf" in node and (merged := _merge_simple(node["anyOf"])) is not None:
        return merged
    out = {k: _simplify(v, defs) if k != "properties" else
           {name: _simplify(prop, defs) for name, prop in v.items()}
           for k, v in node.items() if k in KEEP}
    if out.get("type") == "object" and "properties" in out:
        out.setdefault("additionalProperties", False)
    return out


def source_alerts() -> list[dict[str, Any]]:
    """The alerting rules of files/rules.yaml, placeholders and all."""
    groups = yaml.safe_load(CHART_RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"] if "alert" in rule]


def alerts_schema() -> dict[str, Any]:
    """prometheusRule.alerts: an object per alert name, `threshold` where the alert has one."""
    properties: dict[str, Any] = {}
    for rule in source_alerts():
        allowed: dict[str, Any] = {
            "for": DURATION, "severity": {"enum": ["info", "warning", "critical"]}}
        if "threshold" in rule:
            allowed["threshold"] = {"type": "number"}
        properties[rule["alert"]] = {"type": "object", "additionalProperties": False,
                                     "properties": dict(sorted(allowed.items()))}
    return {"type": "object", "additionalProperties": False, "properties": properties}


def disabled_schema() -> dict[str, Any]:
    return {"type": "array", "uniqueItems": True,
            "items": {"enum": [rule["alert"] for rule in source_alerts()]}}


def render_rules(*sets: str) -> dict[str, Any]:
    """The PrometheusRule's spec as helm renders it with `prometheusRule.enabled=true`."""
    args = [tool("helm"), "template", "ddb-backupd", str(CHART), "--show-only",
            "templates/prometheusrule.yaml", "--set", "prometheusRule.enabled=true"]
    for item in sets:
        args += ["--set", item]
    out = subprocess.run(args, capture_output=True, text=True, check=True, timeout=60).stdout
    spec: dict[str, Any] = yaml.safe_load(out)["spec"]
    return spec


class _RulesDumper(yaml.SafeDumper):
    """Rules as people write them: lists indented under their key, long text folded."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if len(value) > 60 and " " in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_RulesDumper.add_representer(str, _text)
RULE_KEYS = ("alert", "expr", "for", "labels", "annotations")
ANNOTATION_KEYS = ("summary", "description", "runbook_url")


def default_rules() -> str:
    """config/prometheus/rules.yaml: the chart's rules with the default values."""
    spec = render_rules()
    for group in spec["groups"]:
        group["rules"] = [
            {key: rule[key] for key in RULE_KEYS if key in rule}
            | {"annotations": {k: rule["annotations"][k] for k in ANNOTATION_KEYS}}
            for rule in group["rules"]]
    body = yaml.dump(spec, Dumper=_RulesDumper, sort_keys=False, width=92, allow_unicode=True)
    return RULES_HEADER + body


def _merge_simple(options: list[Any]) -> dict[str, Any] | None:
    """`X | None` and other unions of plain types as one node: `{"type": [...], bounds}`.

    Bounds apply to their own type only (a minimum is ignored for null), so they merge as
    long as no two options bound the same keyword differently; an enum of one option
    admits the other options' null. None when the options do not merge that way.
    """
    if not all(isinstance(o, dict) and "type" in o and not set(o) & {"properties", "items",
                                                                     "anyOf", "$ref"}
               for o in options):
        return None
    merged: dict[str, Any] = {"type": [o["type"] for o in options]}
    for option in options:
        for key in BOUNDS:
            if key in option and merged.setdefault(key, option[key]) != option[key]:
                return None
    choices = [o.get("enum", [o["const"]] if "const" in o else None) for o in options]
    if any(c is not None for c in choices):
        if any(c is None and o["type"] != "null" for c, o in zip(choices, options, strict=True)):
            return None
        merged["enum"] = [v for c in choices for v in (c if c is not None else [None])]
    return merged


def write() -> None:
    """Rewrite the generated parts of README.md, values.schema.json and the rules file."""
    readme = README.read_text()
    head, _, rest = readme.partition(TABLE_START)
    _, _, tail = rest.partition(TABLE_END)
    README.write_text(f"{head}{TABLE_START}\n{readme_table()}\n{TABLE_END}{tail}")
    schema = json.loads(SCHEMA.read_text())
    schema["properties"]["config"] = config_schema()
    schema["properties"]["shards"] = shards_schema()
    order = list(yaml.safe_load(VALUES.read_text()))
    schema["properties"] = dict(sorted(schema["properties"].items(),
                                       key=lambda item: order.index(item[0])))
    rule_schema = schema["properties"]["prometheusRule"]["properties"]
    rule_schema["alerts"] = alerts_schema()
    rule_schema["disabled"] = disabled_schema()
    SCHEMA.write_text(json.dumps(schema, indent=2) + "\n")
    RULES.write_text(default_rules())


if __name__ == "__main__":
    write()
    sys.stdout.write(f"rewrote {README.relative_to(ROOT)}, {SCHEMA.relative_to(ROOT)} and "
                     f"{RULES.relative_to(ROOT)}\n")
