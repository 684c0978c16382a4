"""HTTP routing of the AWS Backup operations the fake serves (everything else goes to moto).

Routes are botocore's request URIs for those operations (`service-2.json`). Matching runs on
the raw, still percent-encoded path, because a recovery point or resource ARN label
arrives with its `/` encoded and must stay one segment.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from daemon.standin.backup_fake import BackupFake
from daemon.standin.protocol import (
    ApiRequest,
    ApiResponse,
    BackupApiError,
    decode_label,
    error_response,
    json_response,
    paginate,
    parse_body,
    parse_query,
    parse_timestamp,
)
from daemon.standin.store import utcnow

log = logging.getLogger(__name__)
Handler = Callable[[BackupFake, ApiRequest], dict[str, Any] | None]


def _start_backup(f: BackupFake, r: ApiRequest) -> dict[str, Any]:
    return f.backups.start(r.region, r.body, utcnow())


def _describe_backup(f: BackupFake, r: ApiRequest) -> dict[str, Any]:
    return f.backups.describe(r.labels["backupJobId"], utcnow(), r.caller)


def _stop_backup(f: BackupFake, r: ApiRequest) -> None:
    f.backups.stop(r.labels["backupJobId"], utcnow(), r.caller)


def _list_backups(f: BackupFake, r: ApiRequest) -> dict[str, Any]:
    """ListBackupJobs: AWS's `By*` filters (query names from service-2.json), paginated."""
    q, now = r.query, utcnow()
    jobs = f.backups.listed(r.region, q.get("accountId") or r.caller)  # ByAccountId, or own
    exact = {"state": "state", "resourceArn": "resource_arn",
             "backupVaultName": "vault_name", "resourceType": "resource_type"}
    for param, attr in exact.items():
        if (want := q.get(param)) is not None:
            jobs = [j for j in jobs if getattr(j, attr) == want]
    if after := q.get("createdAfter"):
        jobs = [j for j in jobs if j.creation_date >= parse_timestamp(after)]
    if before := q.get("createdBefore"):
        jobs = [j for j in jobs if j.creation_date <= parse_timestamp(before)]
    if after := q.get("completeAfter"):
        jobs = [j for j in jobs if j.completion_date and j.completion_date >= parse_timestamp(after)]
    if before := q.get("completeBefore"):
        jobs = [j for j in jobs
                if j.completion_date and j.completion_date <= parse_timestamp(before)]
    page, token = paginate(jobs, q)
    return {"BackupJobs": [j.to_api(now) for j in page], "NextToken": token}


def _start_restore(f: BackupFake, r: ApiRequest) -> dict[str, Any]:
    return f.restores.start(r.region, r.body, utcnow())


# (method, path pattern, handler); labels are named groups, matched on the raw path.
_SEG = r"[^/]+"
_NOTE = rf"^/backup-vaults/(?P<backupVaultName>{_SEG})/notification-configuration"
_PLAN = rf"^/backup/plans/(?P<backupPlanId>{_SEG})"
_SELECTION = rf"{_PLAN}/selections/(?P<selectionId>{_SEG})"
_RP = rf"^/backup-vaults/(?P<backupVaultName>{_SEG})/recovery-points/(?P<recoveryPointArn>{_SEG})"
ROUTES: list[tuple[str, re.Pattern[str], str, Handler]] = [
    (m, re.compile(p + r"/?$"), op, h) for m, p, op, h in (
        ("PUT", r"^/backup-jobs", "StartBackupJob", _start_backup),
        ("GET", r"^/backup-jobs", "ListBackupJobs", _list_backups),
        ("GET", rf"^/backup-jobs/(?P<backupJobId>{_SEG})", "DescribeBackupJob",
         _describe_backup),
        ("POST", rf"^/backup-jobs/(?P<backupJobId>{_SEG})", "StopBackupJob", _stop_backup),
        ("GET", rf"^/backup-vaults/(?P<backupVaultName>{_SEG})/recovery-points",
         "ListRecoveryPointsByBackupVault", lambda f, r: f.points.list_by_vault(r)),
        ("GET", _RP, "DescribeRecoveryPoint", lambda f, r: f.points.describe(r)),
        ("DELETE", _RP, "DeleteRecoveryPoint", lambda f, r: f.points.delete(r)),
        ("GET", rf"^/resources/(?P<resourceArn>{_SEG})/recovery-points",
         "ListRecoveryPointsByResource", lambda f, r: f.points.list_by_resource(r)),
        ("PUT", r"^/restore-jobs", "StartRestoreJob", _start_restore),
        ("GET", r"^/restore-jobs", "ListRestoreJobs", lambda f, r: f.restores.list(r)),
        ("GET", rf"^/restore-jobs/(?P<restoreJobId>{_SEG})", "DescribeRestoreJob",
         lambda f, r: f.restores.describe(r.labels["restoreJobId"])),
        ("PUT", _NOTE, "PutBackupVaultNotifications", lambda f, r: f.notifications.put(r)),
        ("GET", _NOTE, "GetBackupVaultNotifications", lambda f, r: f.notifications.get(r)),
        ("DELETE", _NOTE, "DeleteBackupVaultNotifications",
         lambda f, r: f.notifications.delete(r)),
        ("POST", _PLAN, "UpdateBackupPlan", lambda f, r: f.backup_plans.update(r)),
        ("GET", _PLAN, "GetBackupPlan", lambda f, r: f.backup_plans.get(r)),
        ("DELETE", _PLAN, "DeleteBackupPlan", lambda f, r: f.backup_plans.delete(r)),
        ("GET", rf"{_PLAN}/versions", "ListBackupPlanVersions",
         lambda f, r: f.backup_plans.versions(r)),
        ("PUT", rf"{_PLAN}/selections", "CreateBackupSelection",
         lambda f, r: f.backup_plans.create_selection(r)),
        ("GET", rf"{_PLAN}/selections", "ListBackupSelections",
         lambda f, r: f.backup_plans.list_selections(r)),
        ("GET", _SELECTION, "GetBackupSelection", lambda f, r: f.backup_plans.get_selection(r)),
        ("DELETE", _SELECTION, "DeleteBackupSelection",
         lambda f, r: f.backup_plans.delete_selection(r)),
    )
]

def match(method: str, raw_path: str) -> tuple[str, Handler, dict[str, str]] | None:
    """(operation, handler, labels) of a faked request, or None when moto should answer."""
    for route_method, pattern, operation, handler in ROUTES:
        if route_method == method and (m := pattern.match(raw_path)):
            return operation, handler, {k: decode_label(v) for k, v in m.groupdict().items()}
    return None

def handle(fake: BackupFake, handler: Handler, *, method: str, raw_path: str,
           labels: dict[str, str], raw_query: str, raw_body: bytes,
           region: str, caller: str) -> ApiResponse:
    """Run one faked operation and render its result or its AWS error."""
    try:
        req = ApiRequest(method, raw_path, region, caller, labels, parse_query(raw_query),
                         parse_body(raw_body))
        return json_response(handler(fake, req))
    except BackupApiError as err:
        return error_response(err)
    except Exception as exc:  # a bug in the fake: answer like AWS's 5xx, keep the traceback
        log.exception("standin: %s %s failed", method, raw_path)
        return error_response(BackupApiError("ServiceUnavailableException",
                                             f"stand-in failure: {exc!r}", 500))


__all__ = ["ROUTES", "handle", "match"]
