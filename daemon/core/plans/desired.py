"""The desired state of one configured backup plan: its vault, plan document and selections.

Built from the settings (read through the protocols below, so the pure layer never imports
the configuration) into AWS's own documents (`wire.py`): what `CreateBackupPlan`,
`UpdateBackupPlan` and `CreateBackupSelection` are sent, and what `diff.py` compares with
what AWS answers. The fingerprint names this exact configuration; it is stored on the plan
(ownership.TAG_CONFIG) to tell drift in AWS from a changed configuration.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from daemon.core.plans.ownership import selection_name
from daemon.core.plans.wire import (
    BackupPlanDocument,
    BackupRule,
    BackupSelectionDocument,
    ConditionParameter,
    Conditions,
    CopyAction,
    Lifecycle,
    TagCondition,
)

TAG_CONDITION_KEY = "aws:ResourceTag/{}"
OPERATORS = {"equals": "string_equals", "not_equals": "string_not_equals",
             "like": "string_like", "not_like": "string_not_like"}


class LifecycleLike(Protocol):
    @property
    def delete_after_days(self) -> int | None: ...
    @property
    def move_to_cold_storage_after_days(self) -> int | None: ...
    @property
    def opt_in_to_archive(self) -> bool: ...


class CopyLike(Protocol):
    @property
    def destination_vault_arn(self) -> str: ...
    @property
    def lifecycle(self) -> LifecycleLike | None: ...


class RuleLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def expression(self) -> str: ...
    @property
    def timezone(self) -> str: ...
    @property
    def start_window_minutes(self) -> int: ...
    @property
    def complete_window_minutes(self) -> int: ...
    @property
    def lifecycle(self) -> LifecycleLike | None: ...
    @property
    def continuous_backup(self) -> bool: ...
    @property
    def copy_to(self) -> Sequence[CopyLike]: ...
    @property
    def recovery_point_tags(self) -> Mapping[str, str]: ...


class TagConditionLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def operator(self) -> str: ...


class SelectionLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def iam_role_arn(self) -> str: ...
    @property
    def resources(self) -> Sequence[str]: ...
    @property
    def not_resources(self) -> Sequence[str]: ...
    @property
    def tags(self) -> Mapping[str, str]: ...
    @property
    def conditions(self) -> Sequence[TagConditionLike]: ...


class VaultLockLike(Protocol):
    @property
    def min_retention_days(self) -> int | None: ...
    @property
    def max_retention_days(self) -> int | None: ...
    @property
    def changeable_for_days(self) -> int | None: ...


class VaultLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def create(self) -> bool: ...
    @property
    def kms_key_arn(self) -> str | None: ...
    @property
    def lock(self) -> VaultLockLike | None: ...


class PlanLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def vault(self) -> VaultLike: ...
    @property
    def rules(self) -> Sequence[RuleLike]: ...
    @property
    def selections(self) -> Sequence[SelectionLike]: ...


@dataclass(frozen=True, slots=True)
class VaultLock:
    """Vault Lock as configured: retention bounds, and days until it can no longer change."""

    min_retention_days: int | None
    max_retention_days: int | None
    changeable_for_days: int | None

    def request(self) -> dict[str, int]:
        """`PutBackupVaultLockConfiguration`'s members (without the vault name)."""
        members = {"MinRetentionDays": self.min_retention_days,
                   "MaxRetentionDays": self.max_retention_days,
                   "ChangeableForDays": self.changeable_for_days}
        return {k: v for k, v in members.items() if v is not None}


@dataclass(frozen=True, slots=True)
class DesiredVault:
    """The vault a plan's rules write to: created (and locked) by the daemon, or expected."""

    name: str
    create: bool
    kms_key_arn: str | None
    lock: VaultLock | None


@dataclass(frozen=True, slots=True)
class DesiredPlan:
    """Everything one configured plan asks AWS to hold."""

    name: str
    vault: DesiredVault
    document: BackupPlanDocument
    selections: tuple[BackupSelectionDocument, ...]
    fingerprint: str


def desired_plan(spec: PlanLike) -> DesiredPlan:
    """The desired state of a configured plan, in AWS's documents."""
    vault = DesiredVault(spec.vault.name, spec.vault.create, spec.vault.kms_key_arn,
                         _lock(spec.vault.lock))
    document = BackupPlanDocument(
        name=spec.name, rules=tuple(_rule(rule, vault.name) for rule in spec.rules))
    selections = tuple(_selection(selection) for selection in spec.selections)
    return DesiredPlan(spec.name, vault, document, selections,
                       fingerprint(vault, document, selections))


def fingerprint(vault: DesiredVault, document: BackupPlanDocument,
                selections: Sequence[BackupSelectionDocument]) -> str:
    """A short stable digest of a plan's whole configuration (document, selections, vault)."""
    canonical = json.dumps({
        "vault": [vault.name, vault.create, vault.kms_key_arn,
                  vault.lock.request() if vault.lock else None],
        "plan": document.request(),
        "selections": [s.request() for s in selections]}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _lock(lock: VaultLockLike | None) -> VaultLock | None:
    if lock is None:
        return None
    return VaultLock(lock.min_retention_days, lock.max_retention_days, lock.changeable_for_days)


def _lifecycle(spec: LifecycleLike | None) -> Lifecycle | None:
    if spec is None:
        return None
    return Lifecycle(move_to_cold_storage_after_days=spec.move_to_cold_storage_after_days,
                     delete_after_days=spec.delete_after_days,
                     opt_in_to_archive=spec.opt_in_to_archive or None)


def _rule(spec: RuleLike, vault: str) -> BackupRule:
    copies = tuple(CopyAction(destination_vault_arn=c.destination_vault_arn,
                              lifecycle=_lifecycle(c.lifecycle)) for c in spec.copy_to)
    return BackupRule(
        rule_name=spec.name, target_vault=vault, schedule_expression=spec.expression,
        timezone=spec.timezone, start_window_minutes=spec.start_window_minutes,
        completion_window_minutes=spec.complete_window_minutes,
        lifecycle=_lifecycle(spec.lifecycle),
        recovery_point_tags=dict(spec.recovery_point_tags) or None,
        copy_actions=copies or None, continuous_backup=spec.continuous_backup or None)


def _selection(spec: SelectionLike) -> BackupSelectionDocument:
    tags = tuple(TagCondition(key=k, value=v) for k, v in sorted(spec.tags.items()))
    grouped: dict[str, list[ConditionParameter]] = {}
    for condition in spec.conditions:
        grouped.setdefault(OPERATORS[condition.operator], []).append(ConditionParameter(
            key=TAG_CONDITION_KEY.format(condition.key), value=condition.value))
    conditions = Conditions(**{k: tuple(v) for k, v in grouped.items()}) if grouped else None
    return BackupSelectionDocument(
        name=selection_name(spec.name), iam_role_arn=spec.iam_role_arn,
        resources=tuple(spec.resources) or None, not_resources=tuple(spec.not_resources) or None,
        list_of_tags=tags or None, conditions=conditions)
