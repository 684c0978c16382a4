"""The checks AWS Backup makes on a backup plan or a selection before it accepts it.

Shared by UpdateBackupPlan and CreateBackupSelection (moto's CreateBackupPlan checks none of
them). Member names and patterns are botocore's (`BackupPlanInput`, `BackupRuleInput`,
`BackupSelection`); the rules are those of AWS Backup's documentation: a start window of at
least 60 minutes, cold storage kept at least 90 days before deletion, `cron()` expressions
only, continuous backups kept at most 35 days, at most 500 resource ARNs (30 with wildcards).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from daemon.core.scheduling.schedule import Cron, ScheduleError, load_zone, parse_expression
from daemon.standin.backup_jobs import validate_lifecycle
from daemon.standin.moto_bridge import MotoBridge
from daemon.standin.protocol import BackupApiError, invalid_parameter, missing_parameter

NAME = re.compile(r"^[a-zA-Z0-9\-\_\.]{1,50}$")
VAULT_NAME = re.compile(r"^[a-zA-Z0-9\-\_]{2,50}$")
VAULT_ARN = re.compile(r"^arn:aws[a-z-]*:backup:[a-z0-9-]+:[0-9]{12}:backup-vault:.+$")
OPERATORS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")
DEFAULTS = {"ScheduleExpression": "cron(0 5 ? * * *)", "StartWindowMinutes": 480,
            "CompletionWindowMinutes": 10080, "ScheduleExpressionTimezone": "Etc/UTC"}
CONTINUOUS_MAX_DAYS = 35


def checked_plan(body: Any, region: str, bridge: MotoBridge,
                 rule_ids: dict[str, str]) -> dict[str, Any]:
    """`BackupPlanInput` as AWS stores it: validated, defaults filled, a `RuleId` per rule
    (kept for a rule whose name the previous version had, in `rule_ids`)."""
    plan = _object(body, "BackupPlan")
    name = plan.get("BackupPlanName")
    if not name:
        raise missing_parameter("BackupPlan.BackupPlanName")
    if not NAME.match(str(name)):
        raise invalid_parameter(f"Invalid BackupPlanName: {name}")
    rules = plan.get("Rules")
    if rules is None:
        raise missing_parameter("BackupPlan.Rules")
    if not isinstance(rules, list) or not rules:
        raise invalid_parameter("A backup plan needs at least one rule.")
    names = [_rule_name(rule) for rule in rules]
    if len(set(names)) != len(names):
        raise invalid_parameter("Rule names must be unique within a backup plan.")
    stored = [_checked_rule(rule, region, bridge) for rule in rules]
    for rule in stored:
        rule["RuleId"] = rule_ids.get(rule["RuleName"]) or str(uuid.uuid4())
    return {**plan, "Rules": stored}


def _object(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        raise missing_parameter(name)
    if not isinstance(value, dict):
        raise BackupApiError("SerializationException", f"{name} must be an object")
    return value


def _rule_name(rule: Any) -> str:
    rule = _object(rule, "Rules[]")
    name = rule.get("RuleName")
    if not name:
        raise missing_parameter("RuleName")
    if not NAME.match(str(name)):
        raise invalid_parameter(f"Invalid RuleName: {name}")
    return str(name)


def _checked_rule(rule: dict[str, Any], region: str, bridge: MotoBridge) -> dict[str, Any]:
    vault = rule.get("TargetBackupVaultName")
    if not vault:
        raise missing_parameter("TargetBackupVaultName")
    if not VAULT_NAME.match(str(vault)) or bridge.vault_arn(region, str(vault)) is None:
        raise invalid_parameter(f"Backup vault {vault} does not exist.")
    stored = {**DEFAULTS, **{k: v for k, v in rule.items() if v is not None}}
    _check_schedule(stored["ScheduleExpression"], stored["ScheduleExpressionTimezone"])
    if int(stored["StartWindowMinutes"]) < 60:
        raise invalid_parameter("StartWindowMinutes must be at least 60 minutes.")
    if int(stored["CompletionWindowMinutes"]) < 1:
        raise invalid_parameter("CompletionWindowMinutes must be positive.")
    validate_lifecycle(stored.get("Lifecycle"))
    for action in stored.get("CopyActions") or []:
        if not VAULT_ARN.match(str(_object(action, "CopyActions[]").get(
                "DestinationBackupVaultArn") or "")):
            raise invalid_parameter("CopyActions: DestinationBackupVaultArn must be a backup "
                                    "vault ARN.")
        validate_lifecycle(action.get("Lifecycle"))
    if stored.get("EnableContinuousBackup"):
        days = (stored.get("Lifecycle") or {}).get("DeleteAfterDays")
        if days is None or int(days) > CONTINUOUS_MAX_DAYS:
            raise invalid_parameter("Continuous backups can be retained at most 35 days.")
    return stored


def _check_schedule(expression: str, zone: str) -> None:
    try:
        load_zone(zone)
        parsed = parse_expression(expression, zone)
    except ScheduleError as exc:
        raise invalid_parameter(f"Invalid schedule: {exc}") from exc
    if not isinstance(parsed, Cron):
        raise invalid_parameter("ScheduleExpression must be a cron() expression.")


def checked_selection(body: Any) -> dict[str, Any]:
    """`BackupSelection` as `GetBackupSelection` returns it: validated, with AWS's empty
    members filled in (empty lists and an empty `Conditions`)."""
    selection = _object(body, "BackupSelection")
    for member in ("SelectionName", "IamRoleArn"):
        if not selection.get(member):
            raise missing_parameter(f"BackupSelection.{member}")
    if not NAME.match(str(selection["SelectionName"])):
        raise invalid_parameter(f"Invalid SelectionName: {selection['SelectionName']}")
    if not str(selection["IamRoleArn"]).startswith("arn:aws:iam::"):
        raise invalid_parameter(f"Invalid IAM role ARN: {selection['IamRoleArn']}")
    for member in ("Resources", "NotResources"):
        _check_arns(member, selection.get(member) or [])
    for item in selection.get("ListOfTags") or []:
        tag = _object(item, "ListOfTags[]")
        if tag.get("ConditionType") != "STRINGEQUALS":
            raise invalid_parameter("ListOfTags supports only ConditionType STRINGEQUALS.")
        _check_pair(tag, "ListOfTags[]")
    conditions = _object(selection.get("Conditions") or {}, "Conditions")
    if unknown := set(conditions) - set(OPERATORS):
        raise invalid_parameter(f"Unknown condition operator(s): {sorted(unknown)}")
    for operator in OPERATORS:
        for pair in conditions.get(operator) or []:
            _check_pair(_object(pair, operator), operator)
    return {**selection, "Resources": list(selection.get("Resources") or []),
            "NotResources": list(selection.get("NotResources") or []),
            "ListOfTags": list(selection.get("ListOfTags") or []),
            "Conditions": {op: list(conditions.get(op) or []) for op in OPERATORS}}


def _check_arns(member: str, arns: Any) -> None:
    if not isinstance(arns, list) or not all(isinstance(a, str) for a in arns):
        raise BackupApiError("SerializationException", f"{member} must be a list of strings")
    wildcards = any("*" in arn for arn in arns)
    if len(arns) > 500 or (wildcards and len(arns) > 30):
        raise invalid_parameter(f"{member}: at most 500 ARNs, or 30 with wildcards.")


def _check_pair(pair: dict[str, Any], where: str) -> None:
    if not pair.get("ConditionKey") or pair.get("ConditionValue") is None:
        raise missing_parameter(f"{where}.ConditionKey/ConditionValue")
