"""The thin AWS Backup calls of plans as code, and what they read turned into `Observed`.

Reads are cached only where AWS's own identifiers make it safe: a plan document by (plan id,
version id), since every change to a plan makes a new version; a selection by its id, since
selections cannot be changed, only replaced. A pass that finds the same versions and ids as the
last one therefore reads only the listings, the tags and the vault. The cache lives in memory
and is empty after a restart: the first pass reads everything.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from daemon.aws.errors import error_code
from daemon.core.plans.desired import DesiredPlan, DesiredVault
from daemon.core.plans.diff import LockState
from daemon.core.plans.ownership import owns_plan, owns_selection, plan_tags, vault_tags
from daemon.core.plans.reconcile import Observed, ObservedPlan, ObservedSelection, ObservedVault
from daemon.core.plans.wire import BackupPlanDocument, BackupSelectionDocument

if TYPE_CHECKING:
    from types_aiobotocore_backup.client import BackupClient
    from types_aiobotocore_backup.type_defs import BackupPlanInputTypeDef, BackupSelectionTypeDef

    from daemon.aws.session import Connect


@dataclass(frozen=True, slots=True)
class PlanSummary:
    """One live plan as `ListBackupPlans` lists it."""

    plan_id: str
    arn: str
    name: str
    version_id: str


@dataclass(frozen=True, slots=True)
class Created:
    """What `CreateBackupPlan` answers."""

    plan_id: str
    arn: str
    version_id: str


class PlanCalls:
    """Every AWS Backup call of the plans capability, through the shared clients."""

    def __init__(self, backup: Connect[BackupClient]) -> None:
        self._backup = backup
        self._documents: dict[tuple[str, str], BackupPlanDocument] = {}
        self._selections: dict[str, BackupSelectionDocument] = {}

    # -- reads ---------------------------------------------------------------------------
    async def list_plans(self) -> dict[str, list[PlanSummary]]:
        """Every live (not deleted) plan, by name."""
        backup = await self._backup()
        by_name: dict[str, list[PlanSummary]] = {}
        async for page in backup.get_paginator("list_backup_plans").paginate():
            for item in page.get("BackupPlansList", []):
                if item.get("DeletionDate"):
                    continue
                summary = PlanSummary(item["BackupPlanId"], item["BackupPlanArn"],
                                      item.get("BackupPlanName", ""), item["VersionId"])
                by_name.setdefault(summary.name, []).append(summary)
        return by_name

    async def observe(self, desired: DesiredPlan, listed: Sequence[PlanSummary],
                      vaults: dict[str, ObservedVault | None]) -> Observed:
        """What AWS holds for one plan; `vaults` caches vault reads within one pass."""
        name = desired.vault.name
        if name not in vaults:
            vaults[name] = await self.vault(name)
        plans = tuple([await self._plan(summary, desired.name) for summary in listed])
        return Observed(vaults[name], plans)

    async def vault(self, name: str) -> ObservedVault | None:
        backup = await self._backup()
        try:
            vault = await backup.describe_backup_vault(BackupVaultName=name)
        except backup.exceptions.ResourceNotFoundException:
            return None
        lock = None
        if vault.get("Locked"):
            lock = LockState(vault.get("MinRetentionDays"), vault.get("MaxRetentionDays"),
                             vault.get("LockDate") is not None)
        return ObservedVault(name, await self._tags(vault["BackupVaultArn"]), lock)

    async def _plan(self, summary: PlanSummary, name: str) -> ObservedPlan:
        tags = await self._tags(summary.arn)
        if not owns_plan(tags, name):
            return ObservedPlan(summary.plan_id, summary.arn, summary.version_id, tags)
        return ObservedPlan(summary.plan_id, summary.arn, summary.version_id, tags,
                            await self._document(summary.plan_id, summary.version_id),
                            await self._plan_selections(summary.plan_id))

    async def _document(self, plan_id: str, version_id: str) -> BackupPlanDocument:
        key = (plan_id, version_id)
        if key not in self._documents:
            backup = await self._backup()
            answer = await backup.get_backup_plan(BackupPlanId=plan_id, VersionId=version_id)
            self._documents[key] = BackupPlanDocument.model_validate(answer["BackupPlan"])
        return self._documents[key]

    async def _plan_selections(self, plan_id: str) -> tuple[ObservedSelection, ...]:
        backup = await self._backup()
        found: list[ObservedSelection] = []
        paginator = backup.get_paginator("list_backup_selections")
        async for page in paginator.paginate(BackupPlanId=plan_id):
            for item in page.get("BackupSelectionsList", []):
                selection_id, name = item["SelectionId"], item.get("SelectionName", "")
                document = (await self._selection(plan_id, selection_id)
                            if owns_selection(name) else None)
                found.append(ObservedSelection(selection_id, name, document))
        return tuple(found)

    async def _selection(self, plan_id: str, selection_id: str) -> BackupSelectionDocument:
        if selection_id not in self._selections:
            backup = await self._backup()
            answer = await backup.get_backup_selection(BackupPlanId=plan_id,
                                                       SelectionId=selection_id)
            self._selections[selection_id] = BackupSelectionDocument.model_validate(
                answer["BackupSelection"])
        return self._selections[selection_id]

    async def _tags(self, arn: str) -> dict[str, str]:
        backup = await self._backup()
        tags: dict[str, str] = {}
        kwargs: dict[str, Any] = {"ResourceArn": arn}
        while True:
            page = await backup.list_tags(**kwargs)
            tags.update(page.get("Tags", {}))
            if not page.get("NextToken"):
                return tags
            kwargs["NextToken"] = page["NextToken"]

    # -- writes --------------------------------------------------------------------------
    async def create_vault(self, vault: DesiredVault) -> None:
        backup = await self._backup()
        extra = {"EncryptionKeyArn": vault.kms_key_arn} if vault.kms_key_arn else {}
        # made since it was read (a racing replica): the next pass reads its tags
        with contextlib.suppress(backup.exceptions.AlreadyExistsException):
            await backup.create_backup_vault(BackupVaultName=vault.name,
                                             BackupVaultTags=vault_tags(vault.name), **extra)

    async def lock_vault(self, vault: DesiredVault) -> None:
        assert vault.lock is not None
        backup = await self._backup()
        await backup.put_backup_vault_lock_configuration(BackupVaultName=vault.name,
                                                         **vault.lock.request())

    async def create_plan(self, desired: DesiredPlan) -> Created:
        backup = await self._backup()
        answer = await backup.create_backup_plan(
            BackupPlan=cast("BackupPlanInputTypeDef", desired.document.request()),
            BackupPlanTags=plan_tags(desired.name, desired.fingerprint))
        return Created(answer["BackupPlanId"], answer["BackupPlanArn"], answer["VersionId"])

    async def update_plan(self, plan_id: str, document: BackupPlanDocument) -> str:
        """A new version of the plan; returns its version id."""
        backup = await self._backup()
        answer = await backup.update_backup_plan(BackupPlanId=plan_id,
            BackupPlan=cast("BackupPlanInputTypeDef", document.request()))
        return str(answer["VersionId"])

    async def tag_plan(self, arn: str, tags: dict[str, str]) -> None:
        backup = await self._backup()
        await backup.tag_resource(ResourceArn=arn, Tags=tags)

    async def create_selection(self, plan_id: str, selection: BackupSelectionDocument) -> str:
        backup = await self._backup()
        answer = await backup.create_backup_selection(BackupPlanId=plan_id,
            BackupSelection=cast("BackupSelectionTypeDef", selection.request()))
        return str(answer["SelectionId"])

    async def delete_selection(self, plan_id: str, selection_id: str) -> None:
        backup = await self._backup()
        try:
            await backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=selection_id)
        except Exception as exc:
            if error_code(exc) != "ResourceNotFoundException":  # gone already: what we wanted
                raise
        self._selections.pop(selection_id, None)
