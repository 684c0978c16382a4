"""Least privilege on the stand-in: IAM users holding a policy (config/iam/policy.json, or
one generated from a configuration by `daemon.config.iam_policy`), and what each of the
scenario's checks needs.

moto enforces *actions* (and signatures), not Resource or Condition elements: statements are
loaded with `Resource: "*"` and no conditions, so a statement whose actions another statement
also grants cannot be told apart here (tests/deploy/test_iam.py checks resources statically).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

POLICY = json.loads((Path(__file__).resolve().parents[2] / "config/iam/policy.json")
                    .read_text(encoding="utf-8"))


def by_sid(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


STATEMENTS = by_sid(POLICY)

TABLE_READS = {"dynamodb:ListTables", "dynamodb:DescribeTable", "dynamodb:ListTagsOfResource"}
BACKUPS = TABLE_READS | {"dynamodb:CreateBackup", "dynamodb:ListBackups",
                         "dynamodb:DescribeBackup"}
RDS_LISTINGS = {"rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"}
COPIES = TABLE_READS | {"dynamodb:TagResource", "ssm:GetParameter", "ssm:PutParameter"}
# check -> the actions without which it may fail (with fewer, it must pass)
NEEDS: dict[str, set[str]] = {
    "backups": BACKUPS,
    "retention": BACKUPS | {"dynamodb:DeleteBackup"},
    "events": {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
               "sqs:GetQueueAttributes"},
    "reconcile": {"backup:ListBackupJobs", "backup:DescribeBackupJob"},
    "jobs": set(),  # events and the reconcile each bring every job to its final state
    "alerts": {"sns:Publish"},
    "gauges": {"cloudwatch:PutMetricData"},
    "restore_native": BACKUPS | COPIES | {"dynamodb:RestoreTableFromBackup"},
    "restore_job": COPIES | {"backup:StartRestoreJob", "backup:DescribeRestoreJob",
                             "iam:PassRole"},
    # three copies (two native, one from a recovery point) and keep_last 2: one rotated away
    "rotation": set(),  # filled below from both kinds of restore
    "export": TABLE_READS | {"dynamodb:DescribeContinuousBackups",
                             "dynamodb:ExportTableToPointInTime", "dynamodb:DescribeExport",
                             "s3:ListBucket", "s3:PutObject", "s3:GetObject"},
    # the exports' background pass: markers in S3, exports rediscovered, the snapshots a
    # scheduled RDS export chooses from
    "export_scan": TABLE_READS | {"s3:ListBucket", "s3:GetObject", "dynamodb:ListExports",
                                  "dynamodb:DescribeExport", *RDS_LISTINGS},
    # the scheduled RDS export: the newest snapshot found, exported, polled; its markers
    "rds_export": RDS_LISTINGS | {"rds:DescribeExportTasks", "rds:StartExportTask",
                                  "s3:GetObject", "s3:PutObject", "s3:DeleteObject"},
    # `ddb-backupd restore` by hand (tests/trust/on_demand.py): the newest backup of a table
    # (native backups and recovery points looked up), then a recovery point found by ARN in
    # whichever vault holds it and restored by a job; each waits for its table
    "restore_by_table": {"dynamodb:ListBackups", "dynamodb:DescribeTable",
                         "backup:ListRecoveryPointsByResource", "dynamodb:RestoreTableFromBackup"},
    "restore_by_point": {"backup:ListBackupVaults", "backup:DescribeRecoveryPoint",
                         "dynamodb:DescribeTable", "backup:StartRestoreJob", "iam:PassRole",
                         "backup:DescribeRestoreJob"},
    # the rescans' catch-up of lost triggers: what completed lately (both listings), the
    # restored copies it is compared with (the restores' table scan, then the restore jobs
    # still running: the restores' catch-up comes after both), the exports' markers
    "catch_up": TABLE_READS | {"backup:ListBackupJobs", "dynamodb:ListBackups",
                               "backup:ListRestoreJobs", "s3:ListBucket", "s3:GetObject"},
    # backup plans as code: the vault made and locked, the plan and its selection made, then
    # read back on every pass
    "plans": {"backup:ListBackupPlans", "backup:ListTags", "backup:DescribeBackupVault",
              "backup:GetBackupPlan", "backup:ListBackupSelections", "backup:GetBackupSelection",
              "backup:CreateBackupVault", "backup:PutBackupVaultLockConfiguration",
              "backup:CreateBackupPlan", "backup:UpdateBackupPlan", "backup:TagResource",
              "backup:CreateBackupSelection", "backup:DeleteBackupSelection"},
}
NEEDS["rotation"] = NEEDS["restore_native"] | NEEDS["restore_job"] | {"dynamodb:DeleteTable"}
LEASE = {"dynamodb:CreateTable", "dynamodb:DescribeTable", "dynamodb:GetItem",
         "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
# Statements the scenario cannot exercise, and why (a new statement must be placed in one list).
NOT_EXERCISED = {
    "SchedulerAwsBackupJobs": "the scenario schedules native backups (aws-backup engine: "
                              "tests/scheduler)",
    "SchedulerPassBackupRole": "iam:PassRole is not checked by the stand-in",
    "RetentionRecoveryPoints": "aws-backup engine retention",
    "RetentionAndExportsDeleteRecoveryPoints": "aws-backup engine retention",
    "ExportsDynamoDbList": "ListExports runs only when an export is rediscovered",
    "ExportsRdsPassExportRole": "moto's StartExportTask does not check iam:PassRole of the "
                                "export's role (nor could moto tell it from "
                                "SchedulerPassBackupRole's, the same action)",
    "ExportsRdsKmsKey": "moto's StartExportTask makes no KMS call for the export's key (AWS "
                        "asks the caller for kms:CreateGrant and kms:DescribeKey, which "
                        "PlansVaultKms* grant too)",
    "CrossAccountAssumeRoleOptional": "no role to assume in the scenario",
    "CrossAccountCallerIdentity": "no member accounts' roles in the scenario "
                                  "(tests/pipeline/test_member_roles.py)",
    "ExportsDynamoDbStatus": "moto's exports are COMPLETED in the start call's answer: "
                             "DescribeExport is never needed",
    "PlansVaultStorage": "moto's CreateBackupVault does not ask for backup-storage:MountCapsule",
    "PlansVaultKmsKey": "the stand-in makes no KMS calls for a vault's key",
    "PlansVaultKmsGrant": "the stand-in makes no KMS calls for a vault's key",
}
# S3 says "Access Denied" without naming the action (moto does, and S3 did until 2023):
# there the evidence is the refused operation.
S3_OPERATIONS = {"s3:ListBucket": ("ListObjectsV2", "ListObjects"),
                 "s3:PutObject": ("PutObject",), "s3:GetObject": ("GetObject", "HeadObject"),
                 "s3:DeleteObject": ("DeleteObject", "DeleteObjects"),
                 "s3:AbortMultipartUpload": ("AbortMultipartUpload",),
                 "s3:PutObjectAcl": ("PutObjectAcl",)}


def actions(statement: dict[str, Any]) -> set[str]:
    value = statement["Action"]
    return {value} if isinstance(value, str) else set(value)


def only_in(sid: str) -> set[str]:
    """The actions no other statement grants: what removing `sid` takes away under moto."""
    others = set().union(*(actions(s) for k, s in STATEMENTS.items() if k != sid))
    return actions(STATEMENTS[sid]) - others


# AWS authorizes these batch calls with their single counterparts' actions; moto asks for
# the batch action itself, so the moto policy grants it wherever AWS would.
BATCH_ALIASES = {"sqs:DeleteMessage": "sqs:DeleteMessageBatch",
                 "sqs:ChangeMessageVisibility": "sqs:ChangeMessageVisibilityBatch",
                 "sqs:SendMessage": "sqs:SendMessageBatch"}


def as_moto_asks(action: str) -> set[str]:
    """The action, plus the names moto asks for where they differ from IAM's: batch calls,
    and CloudWatch by its endpoint prefix (`monitoring:`)."""
    out = {action, *([BATCH_ALIASES[action]] if action in BATCH_ALIASES else [])}
    return out | {a.replace("cloudwatch:", "monitoring:") for a in out}


def moto_policy(without: str | None = None, policy: dict[str, Any] | None = None) -> str:
    """The policy (default: the shipped one) as moto can enforce it: every statement but
    `without`, any resource."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": sid, "Effect": s["Effect"], "Resource": "*",
         "Action": sorted(set().union(*(as_moto_asks(a) for a in actions(s))))}
        for sid, s in by_sid(policy or POLICY).items() if sid != without]})


def make_users(iam: Any, without: str | None = None, policy: dict[str, Any] | None = None,
               ) -> tuple[tuple[str, str], tuple[str, str]]:
    """(daemon's, admin's) access keys: the daemon holds only the policy (default: the
    shipped one; less `without`)."""
    keys = []
    for user, document in (("backupd", moto_policy(without, policy)), ("admin", json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))):
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=document)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        keys.append((key["AccessKeyId"], key["SecretAccessKey"]))
    return keys[0], keys[1]


def names_denial(logs: str, action: str) -> bool:
    """Whether a log line says `action` was refused (as moto words it)."""
    if any(f"not authorized to perform: {a}" in logs for a in as_moto_asks(action)):
        return True
    return any(f"(AccessDenied) when calling the {op} operation" in logs
               for op in S3_OPERATIONS.get(action, ()))


def may_fail(check: str, removed: set[str]) -> bool:
    """Whether `check` may fail once `removed` actions are denied (every check needs the
    leader, and the leader its lease table)."""
    return bool((NEEDS[check] | LEASE) & removed)
