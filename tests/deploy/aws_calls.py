"""Which AWS API calls the daemon makes, read from its source (AST), and the IAM actions they need.

A client is recognised where the code obtains it, as the architecture prescribes: from the
typed accessor of its service, `x = await aws.dynamodb()`, or the one a component was handed,
`x = await self._dynamodb()` (also `async with ....client("sts") as x`);
every `x.<operation>(...)` (or `x.<operation>` handed to a helper, as
`throttle.call(x.list_backups, ...)`), `x.get_paginator("<operation>")` and
`x.get_waiter("<waiter>")` on it is a call of that service, as is `getattr(x, "<op>")`.
A dynamic call — `getattr(x, name)` or `x.get_paginator(name)` with a name computed at run
time — cannot be read, so it is reported as unresolved. A client under a service's name
(`ddb`, `sqs`, `s3`, `backup`, ...) is that service's, wherever it came from. A `client`
whose service is chosen at run time is attributed by the operation, when exactly one of the
daemon's services has it; otherwise the call is reported as unresolved, so a new call can
never slip past the IAM test unnoticed.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import botocore.session
from botocore import xform_name

from tests.deploy.tools import ROOT

DAEMON = ROOT / "daemon"
# Code that drives the local stand-in (demo data, sandbox), not AWS on the daemon's behalf.
NOT_THE_DAEMON = ("standin/", "cli/demo", "cli/sandbox")
IAM_PREFIX = {"dynamodb": "dynamodb", "sqs": "sqs", "sns": "sns", "backup": "backup",
              "cloudwatch": "cloudwatch", "ssm": "ssm", "rds": "rds", "s3": "s3", "sts": "sts",
              "kms": "kms", "iam": "iam", "tagging": "tag", "resourcegroupstaggingapi": "tag"}
# Operations whose IAM action is not named after them (Service Authorization Reference).
ACTION_OF = {
    "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility",
    "sqs:SendMessageBatch": "sqs:SendMessage",
    "s3:ListObjectsV2": "s3:ListBucket", "s3:HeadBucket": "s3:ListBucket",
    "s3:HeadObject": "s3:GetObject",
}
# Actions AWS checks in addition to the call's own (on the caller's identity).
ALSO_NEEDS = {
    "backup:StartBackupJob": ("iam:PassRole",),
    "backup:StartRestoreJob": ("iam:PassRole",),
    # the Service Authorization Reference lists iam:PassRole as their dependent action
    "backup:CreateBackupPlan": ("iam:PassRole",),
    "backup:UpdateBackupPlan": ("iam:PassRole",),
    "backup:CreateBackupSelection": ("iam:PassRole",),
    # AWS Backup's "Backup vault creation": storage for the vault, and its KMS key
    "backup:CreateBackupVault": ("backup-storage:MountCapsule", "kms:CreateGrant",
                                 "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey",
                                 "kms:RetireGrant"),
    "rds:StartExportTask": ("iam:PassRole", "kms:CreateGrant", "kms:DescribeKey"),
    "dynamodb:RestoreTableFromBackup": (
        "dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
        "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:UpdateItem"),
    "dynamodb:ExportTableToPointInTime": (
        "s3:PutObject", "s3:AbortMultipartUpload", "s3:PutObjectAcl"),
}

# Parameter names that hold a client of one service, as the code names them.
RECEIVER_NAMES = {"ddb": "dynamodb", "dynamodb": "dynamodb", "sqs": "sqs", "sns": "sns",
                  "backup": "backup", "cloudwatch": "cloudwatch", "cw": "cloudwatch",
                  "ssm": "ssm", "rds": "rds", "s3": "s3", "sts": "sts", "kms": "kms"}
GENERIC_NAMES = {"client"}

_SESSION = botocore.session.get_session()


class DynamicCall(Exception):  # noqa: N818 - read as "a dynamic call was found"
    """A paginator or waiter whose operation is named at run time: the scan cannot read it."""


@dataclass(frozen=True, order=True)
class Call:
    """One AWS operation called somewhere in the daemon."""

    service: str
    operation: str  # botocore's PascalCase name, e.g. ListBackupJobs
    where: str

    @property
    def action(self) -> str:
        name = f"{IAM_PREFIX[self.service]}:{self.operation}"
        return ACTION_OF.get(name, name)


def operations(service: str) -> dict[str, str]:
    """snake_case method name -> PascalCase operation name, from botocore's model."""
    model = _SESSION.get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


def waiter_operation(service: str, waiter: str) -> str:
    model = _SESSION.get_waiter_model(service)
    names = {xform_name(name): name for name in model.waiter_names}
    return str(model.get_waiter(names[waiter]).operation)


def daemon_modules() -> Iterator[Path]:
    for path in sorted(DAEMON.rglob("*.py")):
        rel = path.relative_to(DAEMON).as_posix()
        if not rel.startswith(NOT_THE_DAEMON):
            yield path


def _client_service(node: ast.AST | None) -> str | None:
    """"svc" when `node` is `[await] <anything>.client("svc", ...)` or the accessor of a
    service, `[await] <anything>.svc()` / `<anything>._svc()`."""
    if isinstance(node, ast.Await):
        node = node.value
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    if (node.func.attr.endswith("client") and node.args
            and isinstance(node.args[0], ast.Constant) and node.args[0].value in IAM_PREFIX):
        return str(node.args[0].value)
    accessor = node.func.attr.lstrip("_")
    if not node.args and not node.keywords and accessor in IAM_PREFIX:
        return accessor
    return None


def _key(node: ast.AST) -> str | None:
    """A name or `self.attr` a client can be bound to."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return f"{node.value.id}.{node.attr}"
    return None


def _bindings(scope: ast.AST) -> dict[str, str]:
    found: dict[str, str] = {}
    for node in ast.walk(scope):
        if isinstance(node, ast.Assign | ast.AnnAssign):
            service = _client_service(node.value)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                key = _key(target)
                if service and key:
                    found[key] = service
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            service = _client_service(node.context_expr)
            key = _key(node.optional_vars)
            if service and key:
                found[key] = service
    return found


def _calls_in(tree: ast.Module, where: str) -> tuple[set[Call], set[str]]:
    calls: set[Call] = set()
    unresolved: set[str] = set()
    class_bindings: dict[ast.AST, dict[str, str]] = {}
    for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
        binds = {k: v for k, v in _bindings(cls).items() if k.startswith("self.")}
        for fn in ast.walk(cls):
            class_bindings[fn] = binds
    for fn in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)):
        binds = {**class_bindings.get(fn, {}), **_bindings(fn)}
        for node in ast.walk(fn):
            dynamic = _getattr_call(node, binds, f"{where}:{getattr(node, 'lineno', 0)}")
            if dynamic is not None:
                calls.update(dynamic[0])
                unresolved.update(dynamic[1])
            # `client.op(...)`, and `client.op` handed to a helper (throttle.call(client.op, ...))
            if not isinstance(node, ast.Attribute):
                continue
            receiver = _key(node.value) or ""
            base = receiver.split(".")[-1].lstrip("_")
            service = binds.get(receiver) or RECEIVER_NAMES.get(base)
            if service is None and base in GENERIC_NAMES:
                service = _only_service_with(node.attr)
            where_ = f"{where}:{node.lineno}"
            if service is not None:
                try:
                    calls.update(_resolve(service, node.attr, _call_of(fn, node), where_))
                except DynamicCall as exc:
                    unresolved.add(str(exc))
            elif base in GENERIC_NAMES and _is_operation(node.attr):
                unresolved.add(f"{where_} {receiver}.{node.attr}")
    return calls, unresolved


def _getattr_call(node: ast.AST, binds: dict[str, str], where: str,
                  ) -> tuple[set[Call], set[str]] | None:
    """`getattr(client, "op")` is a call of `op`; `getattr(client, name)` is unresolved."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "getattr" and len(node.args) >= 2):
        return None
    receiver = _key(node.args[0]) or ""
    base = receiver.split(".")[-1].lstrip("_")
    service = binds.get(receiver) or RECEIVER_NAMES.get(base)
    if service is None and base not in GENERIC_NAMES:
        return None
    name = node.args[1]
    if isinstance(name, ast.Constant) and isinstance(name.value, str):
        owner = service or _only_service_with(name.value)
        if owner is not None:
            return _resolve(owner, name.value, None, where), set()
    return set(), {f"{where} getattr({receiver}, <dynamic>)"}


def _is_operation(method: str) -> bool:
    return any(method in operations(service) for service in set(RECEIVER_NAMES.values()))


def _only_service_with(method: str) -> str | None:
    """The one service (of those the daemon uses) that has `method`, for a client whose
    service is chosen at run time (`client = await self._client(service)`)."""
    owners = {s for s in set(RECEIVER_NAMES.values()) if method in operations(s)}
    return owners.pop() if len(owners) == 1 else None


def _call_of(fn: ast.AST, attribute: ast.Attribute) -> ast.Call | None:
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and node.func is attribute:
            return node
    return None


def _resolve(service: str, method: str, node: ast.Call | None, where: str) -> set[Call]:
    ops = operations(service)
    arg = (node.args[0].value if node is not None and node.args
           and isinstance(node.args[0], ast.Constant) else None)
    if method == "get_paginator" and isinstance(arg, str):
        return {Call(service, ops[arg], where)}
    if method in ("get_paginator", "get_waiter") and node is not None:
        raise DynamicCall(f"{where} {method}(<dynamic>)")
    if method == "get_waiter" and isinstance(arg, str):
        return {Call(service, waiter_operation(service, arg), where)}
    if method in ops:
        return {Call(service, ops[method], where)}
    return set()


def scan() -> tuple[set[Call], set[str]]:
    """Every AWS call in the daemon's source, and the client calls it could not attribute."""
    calls: set[Call] = set()
    unresolved: set[str] = set()
    for path in daemon_modules():
        found, lost = _calls_in(ast.parse(path.read_text()), str(path.relative_to(ROOT)))
        calls |= found
        unresolved |= lost
    return calls, unresolved


def required_actions(calls: set[Call]) -> dict[str, set[str]]:
    """IAM action -> where in the code it is needed (including actions AWS checks besides)."""
    needed: dict[str, set[str]] = {}
    for call in calls:
        needed.setdefault(call.action, set()).add(call.where)
        for extra in ALSO_NEEDS.get(f"{IAM_PREFIX[call.service]}:{call.operation}", ()):
            needed.setdefault(extra, set()).add(f"{call.where} (for {call.action})")
    return needed
