"""Copy config/iam/policy.json into the DaemonRole of config/cloudformation/prerequisites.yaml.

The template carries the shipped policy inline; the export bucket's ARNs follow the
template's ExportBucketName parameter. Run after changing the policy:

    .venv/bin/python scripts/cfn_policy.py

tests/deploy/test_prerequisites.py fails until the two agree.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "config" / "iam" / "policy.json"
TEMPLATE = ROOT / "config" / "cloudformation" / "prerequisites.yaml"
BUCKET = "arn:aws:s3:::ddb-backupd-exports"
START = "          PolicyDocument:\n"
INDENT = " " * 12


def render(policy: dict[str, Any]) -> str:
    """The PolicyDocument block, YAML in the template's style."""
    lines = [START, f"{INDENT}Version: '{policy['Version']}'\n", f"{INDENT}Statement:\n"]
    for statement in policy["Statement"]:
        lines.extend(_statement(statement))
    return "".join(lines)


def _statement(statement: dict[str, Any]) -> list[str]:
    pad = INDENT + "  "
    out = [f"{pad}- Sid: {statement['Sid']}\n", f"{pad}  Effect: {statement['Effect']}\n"]
    for key in ("Action", "Resource"):
        value = statement[key]
        if isinstance(value, str):
            out.append(f"{pad}  {key}: {_scalar(value)}\n")
            continue
        out.append(f"{pad}  {key}:\n")
        out.extend(f"{pad}    - {_scalar(item)}\n" for item in value)
    if "Condition" in statement:
        out.append(f"{pad}  Condition: {json.dumps(statement['Condition'])}\n")
    return out


def _scalar(value: str) -> str:
    if value.startswith(BUCKET):
        rest = value[len(BUCKET):]
        return json.dumps({"Fn::Sub": "arn:${AWS::Partition}:s3:::${ExportBucketName}" + rest})
    return "'*'" if value == "*" else value


def main() -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    start = text.index(START, text.index("- PolicyName: ddb-backupd"))
    end = re.compile(r"^\S|^  \S", re.MULTILINE).search(text, start + len(START))
    assert end is not None
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    TEMPLATE.write_text(text[:start] + render(policy) + "\n" + text[end.start():],
                        encoding="utf-8")
    print(f"rewrote {TEMPLATE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
