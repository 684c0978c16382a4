"""Reading config/cloudformation/prerequisites.yaml as CloudFormation would resolve it.

`Stack.value` resolves a node for one set of parameters: parameters and pseudo parameters,
conditions, `Fn::Sub` (with `${!Literal}`), `Fn::If`, `AWS::NoValue`. What only exists once
deployed (`Fn::GetAtt`, a `Ref` to a resource) is left as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.tools import ROOT

PREREQUISITES = ROOT / "config/cloudformation/prerequisites.yaml"
ACCOUNT, REGION = "123456789012", "us-east-1"
NO_VALUE = object()
_SUB = re.compile(r"\$\{(!?)([^}]+)\}")


def load(path: Path = PREREQUISITES) -> dict[str, Any]:
    """The template: plain YAML (intrinsic functions in their long form, `Fn::Sub: ...`)."""
    template: dict[str, Any] = yaml.safe_load(path.read_text())
    return template


@dataclass
class Stack:
    """A template with its parameters chosen (defaults for the rest)."""

    template: dict[str, Any]
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        declared = self.template.get("Parameters", {})
        unknown = set(self.parameters) - set(declared)
        assert not unknown, f"not parameters of the template: {sorted(unknown)}"
        self.refs: dict[str, Any] = {
            **{k: str(v["Default"]) for k, v in declared.items() if "Default" in v},
            **self.parameters, "AWS::AccountId": ACCOUNT, "AWS::Region": REGION,
            "AWS::Partition": "aws", "AWS::StackName": "ddb-backupd"}
        self.conditions = {name: self.truth(node)
                           for name, node in self.template.get("Conditions", {}).items()}

    def truth(self, node: Any) -> bool:
        """A condition function (Fn::Equals/Not/And/Or, Condition) evaluated."""
        (name, arg), = node.items()
        if name == "Condition":
            return self.conditions[arg]
        if name == "Fn::Equals":
            return bool(self.value(arg[0]) == self.value(arg[1]))
        if name == "Fn::Not":
            return not self.truth(arg[0])
        if name == "Fn::And":
            return all(self.truth(a) for a in arg)
        if name == "Fn::Or":
            return any(self.truth(a) for a in arg)
        raise ValueError(f"not a condition function: {name}")

    def value(self, node: Any) -> Any:
        """`node` resolved; `NO_VALUE` for `AWS::NoValue`."""
        if isinstance(node, list):
            return [v for v in map(self.value, node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (name, arg), = node.items()
            if name == "Ref":
                if arg == "AWS::NoValue":
                    return NO_VALUE
                return self.refs.get(arg, node)
            if name == "Fn::If":
                return self.value(arg[1] if self.conditions[arg[0]] else arg[2])
            if name == "Fn::Sub":
                return self._sub(arg)
        out = {k: self.value(v) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not NO_VALUE}

    def _sub(self, arg: str | list[Any]) -> str:
        text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
        names = {**self.refs, **{k: self.value(v) for k, v in extra.items()}}

        def one(match: re.Match[str]) -> str:
            if match.group(1):  # ${!Literal} is written as ${Literal}
                return "${" + match.group(2) + "}"
            name = match.group(2)
            # a resource's Ref or attribute exists only once deployed: left as written
            return str(names[name]) if name in names else match.group(0)

        return _SUB.sub(one, text)

    def resource(self, logical_id: str) -> dict[str, Any]:
        resolved: dict[str, Any] = self.value(self.template["Resources"][logical_id])
        return resolved

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: self.resource(k) for k, v in self.template["Resources"].items()
                if v["Type"] == resource_type}
