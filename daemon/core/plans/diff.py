"""Desired against actual: every field that differs, named as AWS names it.

Both sides are first put in one canonical view, so that what AWS fills in by itself is not a
difference: its defaults (`cron(0 5 ? * * *)`, a 480-minute start window, a 10080-minute
completion window, the UTC zone under any of its names), empty lists and maps against absent
ones, `false` against unset, the order of rules, copy actions, ARNs and tag conditions, and the
`RuleId`s AWS assigns. Fields are named as paths of AWS's members, with rules, copy actions
and selections keyed by their names: `Rules[daily].Lifecycle.DeleteAfterDays`,
`Selections[backupd-tables].Resources`, `Vault.Lock.MinRetentionDays`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from daemon.core.plans.desired import VaultLock
from daemon.core.plans.wire import (
    BackupPlanDocument,
    BackupRule,
    BackupSelectionDocument,
    ConditionParameter,
    Lifecycle,
)

DEFAULT_SCHEDULE = "cron(0 5 ? * * *)"
DEFAULT_START_WINDOW = 480
DEFAULT_COMPLETION_WINDOW = 10080
UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal",
                       "Etc/Zulu", "Zulu", "Etc/GMT", "GMT"})
View = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Difference:
    """One field whose value in AWS is not the configured one (None: absent on that side)."""

    field: str
    actual: Any
    desired: Any


def plan_differences(desired: BackupPlanDocument, actual: BackupPlanDocument
                     ) -> list[Difference]:
    """Every differing field of two plan documents, in a stable order."""
    return differences(plan_view(desired), plan_view(actual))


def selection_differences(desired: BackupSelectionDocument, actual: BackupSelectionDocument,
                          ) -> list[Difference]:
    """Every differing field of two selections, under `Selections[<name>]`."""
    prefix = f"Selections[{desired.name}]"
    return differences(selection_view(desired), selection_view(actual), prefix)


@dataclass(frozen=True, slots=True)
class LockState:
    """Vault Lock as `DescribeBackupVault` reports it (`Locked`, retention bounds, a date)."""

    min_retention_days: int | None
    max_retention_days: int | None
    compliance_mode: bool  # a `LockDate` is set: after it, nothing can change


def lock_differences(desired: VaultLock, actual: LockState | None) -> list[Difference]:
    """Vault Lock as configured against the vault's (None: the vault is not locked).

    AWS reports a lock date rather than `ChangeableForDays`, so only whether the lock is in
    compliance mode (it has a date after which nothing can change) is compared.
    """
    return differences(lock_view(desired), actual_lock_view(actual), "Vault.Lock")


def differences(desired: Any, actual: Any, path: str = "") -> list[Difference]:
    """Recursive comparison of two views; mappings are walked key by key, in sorted order."""
    if isinstance(desired, Mapping) and isinstance(actual, Mapping):
        out: list[Difference] = []
        for key in sorted(set(desired) | set(actual)):
            out += differences(desired.get(key), actual.get(key), _join(path, key))
        return out
    if desired == actual:
        return []
    return [Difference(path or "(document)", actual, desired)]


def _join(path: str, key: str) -> str:
    if key.startswith("["):
        return path + key
    return f"{path}.{key}" if path else key


def plan_view(document: BackupPlanDocument) -> View:
    """A plan in canonical form: rules keyed by name, AWS's defaults filled in."""
    advanced = sorted(json.dumps(s.request(), sort_keys=True)
                      for s in document.advanced_backup_settings or ()) or None
    return {"Rules": {f"[{r.rule_name}]": rule_view(r) for r in document.rules},
            "AdvancedBackupSettings": advanced}


def rule_view(rule: BackupRule) -> View:
    copies = {f"[{c.destination_vault_arn}]": {"Lifecycle": lifecycle_view(c.lifecycle)}
              for c in rule.copy_actions or ()}
    return {
        "TargetBackupVaultName": rule.target_vault,
        "ScheduleExpression": rule.schedule_expression or DEFAULT_SCHEDULE,
        "ScheduleExpressionTimezone": zone_name(rule.timezone),
        "StartWindowMinutes": rule.start_window_minutes or DEFAULT_START_WINDOW,
        "CompletionWindowMinutes": rule.completion_window_minutes or DEFAULT_COMPLETION_WINDOW,
        "Lifecycle": lifecycle_view(rule.lifecycle),
        "RecoveryPointTags": dict(sorted((rule.recovery_point_tags or {}).items())) or None,
        "CopyActions": copies or None,
        "EnableContinuousBackup": bool(rule.continuous_backup),
    }


def lifecycle_view(lifecycle: Lifecycle | None) -> View:
    """A lifecycle with its unset members explicit (an absent lifecycle keeps forever)."""
    lifecycle = lifecycle or Lifecycle()
    return {"MoveToColdStorageAfterDays": _days(lifecycle.move_to_cold_storage_after_days),
            "DeleteAfterDays": _days(lifecycle.delete_after_days),
            "OptInToArchiveForSupportedResources": bool(lifecycle.opt_in_to_archive)}


def _days(value: int | None) -> int | None:
    """-1 is AWS's way of saying "never" (keep indefinitely): the same as unset."""
    return None if value is None or value < 0 else value


def zone_name(zone: str | None) -> str:
    """One name for UTC whatever AWS or the configuration calls it; other zones as given."""
    return "Etc/UTC" if zone is None or zone in UTC_NAMES else zone


def selection_view(selection: BackupSelectionDocument) -> View:
    """A selection in canonical form: ARNs and conditions sorted, empty lists as none."""
    conditions = selection.conditions
    operators = {
        "StringEquals": conditions.string_equals if conditions else None,
        "StringNotEquals": conditions.string_not_equals if conditions else None,
        "StringLike": conditions.string_like if conditions else None,
        "StringNotLike": conditions.string_not_like if conditions else None,
    }
    return {
        "IamRoleArn": selection.iam_role_arn,
        "Resources": sorted(selection.resources or ()) or None,
        "NotResources": sorted(selection.not_resources or ()) or None,
        "ListOfTags": sorted(f"{t.key}={t.value}" for t in selection.list_of_tags or ()) or None,
        "Conditions": {op: _pairs(params) for op, params in operators.items()},
    }


def _pairs(params: Sequence[ConditionParameter] | None) -> list[str] | None:
    return sorted(f"{p.key}={p.value}" for p in params or ()) or None


def lock_view(lock: VaultLock) -> View:
    return {"MinRetentionDays": lock.min_retention_days,
            "MaxRetentionDays": lock.max_retention_days,
            "ComplianceMode": lock.changeable_for_days is not None}


def actual_lock_view(lock: LockState | None) -> View:
    if lock is None:
        return {"MinRetentionDays": None, "MaxRetentionDays": None, "ComplianceMode": None}
    return {"MinRetentionDays": lock.min_retention_days,
            "MaxRetentionDays": lock.max_retention_days,
            "ComplianceMode": lock.compliance_mode}
