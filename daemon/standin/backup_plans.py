"""Backup plan versions and selections: the plan APIs moto lacks.

moto implements CreateBackupPlan, ListBackupPlans and DeleteBackupPlan over its own records,
but not UpdateBackupPlan, versions, or selections. Here UpdateBackupPlan validates the new
document as AWS does (`plan_rules.py`), keeps the replaced version, and makes the new one
current in moto's record (so moto's ListBackupPlans shows it); GetBackupPlan answers for the
current version and every earlier one (`VersionId`); ListBackupPlanVersions lists them;
DeleteBackupPlan refuses a plan that still has selections, as AWS does, then lets moto delete
it. Selections are kept here, per plan.
"""

from __future__ import annotations

import base64
import copy
import uuid
from datetime import UTC, datetime
from typing import Any

from daemon.standin.models import BackupSelection, PlanVersion
from daemon.standin.moto_bridge import MotoBridge
from daemon.standin.plan_rules import checked_plan, checked_selection
from daemon.standin.protocol import (
    ApiRequest,
    BackupApiError,
    invalid_parameter,
    invalid_request,
    not_found,
    paginate,
)
from daemon.standin.store import Store, utcnow

NOT_FOUND = "Failed reading Backup plan with provided version"


class BackupPlans:
    """Plan versions and selections of one fake; every public method takes the store's lock."""

    def __init__(self, store: Store, bridge: MotoBridge) -> None:
        self._store = store
        self._bridge = bridge

    # -- plans ---------------------------------------------------------------------------
    def update(self, req: ApiRequest) -> dict[str, Any]:
        """UpdateBackupPlan: a new current version; the replaced one is kept."""
        plan_id = req.labels["backupPlanId"]
        with self._store.lock:
            plan = self._live(req.region, plan_id)
            rule_ids = {r["RuleName"]: r.get("RuleId") for r in plan.backup_plan["Rules"]}
            document = checked_plan(req.body.get("BackupPlan"), req.region, self._bridge,
                                    rule_ids)
            self._store.plan_versions.setdefault(plan_id, []).append(_current(plan))
            version, now = _version_id(), utcnow()
            self._bridge.replace_backup_plan(req.region, plan_id, document, version,
                                             now.timestamp())
            return {"BackupPlanId": plan_id, "BackupPlanArn": plan.backup_plan_arn,
                    "CreationDate": now, "VersionId": version,
                    "AdvancedBackupSettings": document.get("AdvancedBackupSettings")}

    def get(self, req: ApiRequest) -> dict[str, Any]:
        """GetBackupPlan: the current version, or the one `versionId` names."""
        plan_id, wanted = req.labels["backupPlanId"], req.query.get("versionId")
        with self._store.lock:
            plan = self._bridge.backup_plan(req.region, plan_id)
            if plan is None:
                raise not_found(NOT_FOUND)
            version = next((v for v in self._versions(plan) if v.version_id == wanted),
                           None) if wanted else _current(plan)
            if version is None:
                raise not_found(NOT_FOUND)
            return {"BackupPlan": copy.deepcopy(version.document), "BackupPlanId": plan_id,
                    "BackupPlanArn": plan.backup_plan_arn, "VersionId": version.version_id,
                    "CreatorRequestId": version.creator_request_id,
                    "CreationDate": version.creation_date, "DeletionDate": version.deletion_date,
                    "AdvancedBackupSettings": version.document.get("AdvancedBackupSettings")}

    def versions(self, req: ApiRequest) -> dict[str, Any]:
        """ListBackupPlanVersions: newest first, paginated."""
        with self._store.lock:
            plan = self._bridge.backup_plan(req.region, req.labels["backupPlanId"])
            if plan is None:
                raise not_found(NOT_FOUND)
            page, token = paginate(self._versions(plan), req.query)
            return {"BackupPlanVersionsList": [v.to_list_member() for v in page],
                    "NextToken": token}

    def delete(self, req: ApiRequest) -> dict[str, Any]:
        """DeleteBackupPlan: only once its selections are gone (AWS's rule)."""
        plan_id = req.labels["backupPlanId"]
        with self._store.lock:
            plan = self._live(req.region, plan_id)
            if self._of_plan(plan_id):
                raise invalid_request("Related backup plan selections must be deleted prior "
                                      "to backup plan deletion.")
            deleted = self._bridge.delete_backup_plan(req.region, plan_id)
            return {"BackupPlanId": plan_id, "BackupPlanArn": plan.backup_plan_arn,
                    "DeletionDate": datetime.fromtimestamp(deleted, UTC),
                    "VersionId": plan.version_id}

    def _live(self, region: str, plan_id: str) -> Any:
        plan = self._bridge.backup_plan(region, plan_id)
        if plan is None or plan.deletion_date is not None:
            raise not_found(NOT_FOUND)
        return plan

    def _versions(self, plan: Any) -> list[PlanVersion]:
        earlier = self._store.plan_versions.get(plan.backup_plan_id, [])
        return [_current(plan), *reversed(earlier)]

    # -- selections ----------------------------------------------------------------------
    def create_selection(self, req: ApiRequest) -> dict[str, Any]:
        """CreateBackupSelection: names are unique within a plan; a repeated
        `CreatorRequestId` returns the selection it created."""
        plan_id = req.labels["backupPlanId"]
        with self._store.lock:
            plan = self._bridge.backup_plan(req.region, plan_id)
            if plan is None or plan.deletion_date is not None:
                raise invalid_parameter(f"Backup plan {plan_id} does not exist.")
            document = checked_selection(req.body.get("BackupSelection"))
            token = req.body.get("CreatorRequestId")
            siblings = self._of_plan(plan_id)
            again = next((s for s in siblings if token and s.creator_request_id == token), None)
            if again is None:
                if any(s.document["SelectionName"] == document["SelectionName"]
                       for s in siblings):
                    raise BackupApiError("AlreadyExistsException", "A selection named "
                                         f"{document['SelectionName']} already exists.")
                again = BackupSelection(str(uuid.uuid4()), plan_id, document, utcnow(), token)
                self._store.selections[again.selection_id] = again
            return {"SelectionId": again.selection_id, "BackupPlanId": plan_id,
                    "CreationDate": again.creation_date}

    def get_selection(self, req: ApiRequest) -> dict[str, Any]:
        with self._store.lock:
            return copy.deepcopy(self._selection(req).to_api())

    def list_selections(self, req: ApiRequest) -> dict[str, Any]:
        plan_id = req.labels["backupPlanId"]
        with self._store.lock:
            if self._bridge.backup_plan(req.region, plan_id) is None:
                raise not_found(NOT_FOUND)
            page, token = paginate(self._of_plan(plan_id), req.query)
            return {"BackupSelectionsList": [s.to_list_member() for s in page],
                    "NextToken": token}

    def delete_selection(self, req: ApiRequest) -> None:
        with self._store.lock:
            del self._store.selections[self._selection(req).selection_id]

    def _selection(self, req: ApiRequest) -> BackupSelection:
        selection = self._store.selections.get(req.labels["selectionId"])
        if selection is None or selection.plan_id != req.labels["backupPlanId"]:
            raise not_found(f"Backup selection {req.labels['selectionId']} does not exist.")
        return selection

    def _of_plan(self, plan_id: str) -> list[BackupSelection]:
        return [s for s in self._store.selections.values() if s.plan_id == plan_id]


def _current(plan: Any) -> PlanVersion:
    """moto's record of a plan as a version (moto stores its dates as epoch seconds)."""
    deleted = plan.deletion_date
    return PlanVersion(
        plan.backup_plan_id, plan.backup_plan_arn, plan.version_id,
        datetime.fromtimestamp(float(plan.creation_date), UTC), copy.deepcopy(plan.backup_plan),
        plan.creator_request_id,
        None if deleted is None else datetime.fromtimestamp(float(deleted), UTC))


def _version_id() -> str:
    """A version id shaped like AWS's: 48 characters of base64."""
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()[:48]
