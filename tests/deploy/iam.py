"""A small IAM policy evaluator: enough to tell whether an action is allowed, and by what.

It follows IAM's order (an explicit Deny wins over any Allow; nothing allowed is denied),
matches actions with IAM's wildcards, case-insensitively, and evaluates the conditions the
policies here put on the principal (`aws:PrincipalArn` with Arn[Not]Like / String[Not]Equals).
Other condition keys (namespace, tag, PassedToService) narrow resources, not actions: they
are treated as satisfied, and tests check them separately.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.deploy.tools import ROOT

POLICY = ROOT / "config/iam/policy.json"
DENY_DELETION = ROOT / "config/iam/deny-backup-deletion.json"
DAEMON_ROLE = "arn:aws:iam::123456789012:role/ddb-backupd"
PERSON_ROLE = "arn:aws:iam::123456789012:role/developer"


def load(path: Path) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(path.read_text())
    return policy


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(*policies: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in policies for s in as_list(p["Statement"])]


def _matches(patterns: Iterable[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _principal_condition_holds(statement: dict[str, Any], principal: str) -> bool:
    for operator, pairs in statement.get("Condition", {}).items():
        for key, values in pairs.items():
            if key.lower() != "aws:principalarn":
                continue
            hit = _matches(as_list(values), principal)
            if operator in {"ArnLike", "StringLike", "ArnEquals", "StringEquals"} and not hit:
                return False
            if operator in {"ArnNotLike", "StringNotLike", "ArnNotEquals",
                            "StringNotEquals"} and hit:
                return False
    return True


def applies(statement: dict[str, Any], action: str, principal: str) -> bool:
    if "NotAction" in statement:
        covered = not _matches(as_list(statement["NotAction"]), action)
    else:
        covered = _matches(as_list(statement["Action"]), action)
    return covered and _principal_condition_holds(statement, principal)


def decision(action: str, *policies: dict[str, Any], principal: str = DAEMON_ROLE) -> str:
    """'Deny', 'Allow' or 'ImplicitDeny' for `action` by `principal` under `policies`."""
    matching = [s for s in statements(*policies) if applies(s, action, principal)]
    if any(s["Effect"] == "Deny" for s in matching):
        return "Deny"
    if any(s["Effect"] == "Allow" for s in matching):
        return "Allow"
    return "ImplicitDeny"


def granted_actions(policy: dict[str, Any]) -> set[str]:
    return {a for s in statements(policy) if s["Effect"] == "Allow" for a in as_list(s["Action"])}
