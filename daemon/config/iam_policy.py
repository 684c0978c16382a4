"""The IAM policy a configuration needs (pure): only the statements of the features it turns on.

`config/iam/policy.json` is the everything-on superset, scoped to the example names. This is
the policy of one configuration, as `ddb-backupd iam-policy` prints it: a feature left off
adds nothing, and what is on is scoped to what the configuration names (the queue, topic,
lease table, vaults, roles, buckets and prefixes, SSM parameters, KMS keys), to the tables
its schedules, restore and export rules choose, and to the names restore rules give their
copies (`daemon.core.iam_names`). The account is the one given, else the role's own
(`${aws:PrincipalAccount}`); the region is the configuration's. Sids name the feature as the
shipped policy's do; `sts:AssumeRole` is granted on the one configured role, never on a
pattern. Which calls each feature makes: docs/deploy.md, "The AWS calls the daemon makes".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from daemon.config.schedules import ScheduleSpec
from daemon.config.settings import Settings
from daemon.config.tasks import ExportRule
from daemon.core.iam_names import covering, glob_names, partition, regex_names, restored_names
from daemon.core.iam_names import template_names as ssm_names
from daemon.core.tasks.rotation import MANAGED, TAG_MANAGED

Statement = dict[str, Any]
PRINCIPAL_ACCOUNT = "${aws:PrincipalAccount}"
ANY: Literal["*"] = "*"
RESTORED_TABLE_WRITES = ("dynamodb:BatchWriteItem", "dynamodb:DeleteItem", "dynamodb:GetItem",
                         "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
                         "dynamodb:UpdateItem", "dynamodb:TagResource")
_QUEUE_HOST = re.compile(r"(?:sqs\.([a-z0-9-]+)\.|([a-z0-9-]+)\.queue\.)amazonaws\.com")


@dataclass(frozen=True, slots=True)
class Scope:
    """Where the configuration's resources live: partition, region, account."""

    partition: str
    region: str
    account: str

    def arn(self, service: str, resource: str, *, region: str | None = None) -> str:
        where = self.region if region is None else region
        return f"arn:{self.partition}:{service}:{where}:{self.account}:{resource}"

    def table(self, name: str) -> str:
        return self.arn("dynamodb", f"table/{name}")

    def role(self, role: str) -> str:
        return role if role.startswith("arn:") else self.arn("iam", f"role/{role}", region="")

    def vault(self, name: str | None) -> str:
        return self.arn("backup", f"backup-vault:{name}")

    def bucket(self, path: str) -> str:
        return f"arn:{self.partition}:s3:::{path}"


def statement(sid: str, actions: Iterable[str], resources: Iterable[str] | Literal["*"],
              condition: dict[str, Any] | None = None) -> Statement:
    """One Allow statement; resources deduplicated, those another one covers dropped."""
    out: Statement = {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)),
                      "Resource": ANY if resources == ANY else covering(resources)}
    if condition:
        out["Condition"] = condition
    return out


def policy_for(settings: Settings, account: str | None = None) -> dict[str, Any]:
    """The policy document `settings` needs, in `account` (default: the role's own)."""
    scope = Scope(partition(settings.region), settings.region, account or PRINCIPAL_ACCOUNT)
    return {"Version": "2012-10-17", "Statement": [
        *_events(settings, scope), *_tracker(scope), *_discovery(settings, scope),
        *_alerts(settings), *_gauges(settings), *_leader(settings, scope),
        *_scheduler(settings, scope), *_restores(settings, scope), *_exports(settings, scope),
        *_plans(settings, scope), *_cross_account(settings, scope)]}


def queue_arn(url: str, scope: Scope) -> str:
    """The ARN of the queue at `url` (`https://sqs.REGION.amazonaws.com/ACCOUNT/NAME`);
    the configuration's region where the host does not name one (a VPC endpoint)."""
    parts = urlsplit(url)
    path = [p for p in parts.path.split("/") if p]
    name = path[-1] if path else ANY
    account = path[-2] if len(path) >= 2 and re.fullmatch(r"\d{12}", path[-2]) else scope.account
    host = parts.hostname or ""
    found = _QUEUE_HOST.match(host)
    region = (found[1] or found[2]) if found else \
        ("us-east-1" if host == "queue.amazonaws.com" else scope.region)
    return f"arn:{scope.partition}:sqs:{region}:{account}:{name}"


# -- always, or with one setting ---------------------------------------------------------
def _events(settings: Settings, scope: Scope) -> list[Statement]:
    if not settings.queue_url:
        return []
    return [statement("EventsConsumeBackupEventQueue", [
        "sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage"], [queue_arn(settings.queue_url, scope)])]


def _tracker(scope: Scope) -> list[Statement]:
    """The reconcile (always), and table sizes for jobs whose events carry none (any table
    AWS Backup backs up: the tracker cannot name them beforehand)."""
    return [statement("TrackerReconcileBackupJobs",
                      ["backup:DescribeBackupJob", "backup:ListBackupJobs"], ANY),
            statement("TrackerDescribeTables", ["dynamodb:DescribeTable"], [scope.table("*")])]


def _discovery(settings: Settings, scope: Scope) -> list[Statement]:
    """ListTables: the scheduler's discovery, the restores' rescan, scheduled DynamoDB
    exports; tags of every table when a schedule selects by tag, and of every restored-looking
    table in the restores' rescan."""
    scheduling = bool(_active(settings))
    lists = scheduling or bool(settings.restores) or any(
        r.kind == "dynamodb" and r.schedule for r in settings.exports)
    tags = (scheduling and any(s.tags for s in settings.schedules)) or bool(settings.restores)
    out = [statement("DiscoveryListTables", ["dynamodb:ListTables"], ANY)] if lists else []
    if tags:
        out.append(statement("DiscoveryReadTableTags", ["dynamodb:ListTagsOfResource"],
                             [scope.table("*")]))
    return out


def _alerts(settings: Settings) -> list[Statement]:
    if not settings.alert_topic_arn:
        return []
    return [statement("AlertsPublish", ["sns:Publish"], [settings.alert_topic_arn])]


def _gauges(settings: Settings) -> list[Statement]:
    if not settings.cloudwatch.enabled:
        return []
    return [statement("GaugesPutMetricData", ["cloudwatch:PutMetricData"], ANY, {
        "StringEquals": {"cloudwatch:namespace": settings.cloudwatch.namespace}})]


def _leader(settings: Settings, scope: Scope) -> list[Statement]:
    leader = settings.leader
    if not leader.enabled:
        return []
    actions = ["dynamodb:DeleteItem", "dynamodb:DescribeTable", "dynamodb:GetItem",
               "dynamodb:PutItem", "dynamodb:UpdateItem"]
    if leader.create_table:
        actions.append("dynamodb:CreateTable")
    return [statement("LeaderLeaseTable", actions, [scope.table(leader.table)])]


def _cross_account(settings: Settings, scope: Scope) -> list[Statement]:
    """The one role to assume, on the daemon's own role (the rest goes to the assumed one);
    and the member accounts' roles of an Organization, with the caller's identity (which
    account is the daemon's own: its tables need no role)."""
    role = settings.aws.assume_role_arn
    out = [statement("CrossAccountAssumeRole", ["sts:AssumeRole"], [scope.role(role)])] \
        if role else []
    template = settings.organization.role_arn_template
    if template:
        out += [statement("CrossAccountMemberRoles", ["sts:AssumeRole"],
                          [template.replace("{account}", "*")]),
                statement("CrossAccountCallerIdentity", ["sts:GetCallerIdentity"], ANY)]
    return out


def member_policy(settings: Settings, account: str) -> dict[str, Any]:
    """The policy of the role the daemon assumes in member `account`: DescribeTable (table
    sizes of its jobs); ListBackupJobs and DescribeBackupJob when the reconcile lists the
    account through its role (a served account without an Organization); and, for the
    schedules listing the account (their `{account}` role and
    vault made the member's), their discovery, native backups, AWS Backup jobs (passing the
    member's backup role), retention and freshness listings, scoped to the member's tables,
    vaults and roles; the backup plans listing the account, kept there; and for the restore
    and export rules acting there (those listing the account, or listing none), their
    restores, SSM parameters and exports. All scoped to the member's resources; export
    markers are not: the daemon writes them with its own role."""
    scope = Scope(partition(settings.region), settings.region, account)
    listed = [s.for_account(account).model_copy(update={"accounts": []})
              for s in settings.schedules if account in s.accounts]
    plans = [p.for_account(account) for p in settings.backup_plans if account in p.accounts]
    restores = [r.model_copy(update={"accounts": []}) for r in settings.restores
                if not r.accounts or account in r.accounts]
    exports = [r.model_copy(update={"accounts": []}) for r in settings.exports
               if not r.accounts or account in r.accounts]
    here = settings.model_copy(update={"schedules": listed, "restores": restores,
                                       "exports": exports, "backup_plans": plans})
    reconciled = not settings.organization.enabled and account in settings.accounts
    tracker = _tracker(scope) if reconciled else _tracker(scope)[1:]
    out = [*tracker, *_discovery(here, scope), *_scheduler(here, scope), *_plans(here, scope),
           *_restores(here, scope), *_exports(here, scope, markers=False)]
    if _active(here):  # freshness lists both kinds of backups, whatever the engine
        out.append(statement("MemberFreshnessListings",
                             ["backup:ListBackupJobs", "dynamodb:ListBackups"], ANY))
    return {"Version": "2012-10-17", "Statement": out}


# -- schedules and retention --------------------------------------------------------------
def _active(settings: Settings) -> list[ScheduleSpec]:
    """The schedules the scheduler runs in the daemon's own account (none when it is off);
    those listing member accounts act there through the members' roles (`member_policy`)."""
    if not settings.scheduler.enabled:
        return []
    return [s for s in settings.schedules if s.enabled and not s.accounts]


def _names(spec: ScheduleSpec) -> list[str]:
    """IAM patterns of the table names a schedule selects (tags alone: any name)."""
    names = [glob_names(g) for g in spec.tables]
    if spec.table_regex:
        names.append(regex_names(spec.table_regex))
    return names or [ANY]


def _scheduler(settings: Settings, scope: Scope) -> list[Statement]:
    specs, writes = _active(settings), not settings.dry_run
    native = [s for s in specs if s.engine == "dynamodb"]
    vaulted = [s for s in specs if s.engine == "aws-backup"]
    out: list[Statement] = []
    if native or _catches_up_native(settings):
        out.append(statement("SchedulerListBackups", ["dynamodb:ListBackups"], ANY))
    tables = [n for s in native for n in _names(s)]
    if native and writes:
        out.append(statement("SchedulerNativeBackups", ["dynamodb:CreateBackup"],
                             [scope.table(n) for n in tables]))
    if native:  # followed to AVAILABLE; a racing replica's duplicates and retention deleted
        out.append(statement("SchedulerNativeBackupRecords", ["dynamodb:DescribeBackup",
                             *(["dynamodb:DeleteBackup"] if writes else [])],
                             [scope.table(f"{n}/backup/*") for n in tables]))
    if vaulted and writes:
        out += [statement("SchedulerAwsBackupJobs", ["backup:StartBackupJob"],
                          [scope.vault(s.backup_vault) for s in vaulted]),
                _pass_role("SchedulerPassBackupRole", [scope.role(str(s.iam_role_arn))
                                                       for s in vaulted], "backup.amazonaws.com")]
    return out + _vault_retention(vaulted, scope, writes=writes)


def _catches_up_native(settings: Settings) -> bool:
    """The tasks' catch-up lists native backups of every dynamodb schedule, even one the
    scheduler does not run (tasks/completed.py)."""
    tasks = bool(settings.restores or settings.exports) and settings.tasks.catchup_seconds > 0
    return tasks and any(s.engine == "dynamodb" for s in settings.schedules)


def _vault_retention(vaulted: list[ScheduleSpec], scope: Scope, *, writes: bool,
                     ) -> list[Statement]:
    """Recovery points pruned by the daemon: rules other than keep_days alone (that one is
    AWS Backup's lifecycle, set at StartBackupJob)."""
    pruned = [s for s in vaulted if s.retention.has_rules() and not s.retention.only_keep_days()]
    if not pruned:
        return []
    points = scope.arn("backup", "recovery-point:*")
    out = [statement("RetentionRecoveryPoints",
                     ["backup:ListRecoveryPointsByBackupVault", "backup:ListTags"],
                     [*(scope.vault(s.backup_vault) for s in pruned), points])]
    if writes:
        out.append(statement("RetentionDeleteRecoveryPoints", ["backup:DeleteRecoveryPoint"],
                             [points]))
    return out


def _pass_role(sid: str, roles: Iterable[str], service: str) -> Statement:
    return statement(sid, ["iam:PassRole"], roles,
                     {"StringEquals": {"iam:PassedToService": service}})


# -- restores -----------------------------------------------------------------------------
def _restores(settings: Settings, scope: Scope) -> list[Statement]:
    """Restores in `scope`'s account, with `ddb-backupd restore`'s lookups (by hand, in the
    daemon's own account or, `--account`, a member's through its role)."""
    rules = settings.restores
    if not rules:
        return []
    backups = [scope.table(f"{regex_names(r.source_pattern)}/backup/*") for r in rules]
    copies = [scope.table(restored_names(r.source_pattern, r.replacement)) for r in rules]
    billing = any(r.table_settings and r.table_settings.billing_mode for r in rules)
    out = [
        statement("RestoresNativeRestoreFromBackup", ["dynamodb:RestoreTableFromBackup"],
                  [*backups, *copies]),
        statement("RestoresWriteRestoredTable",
                  [*RESTORED_TABLE_WRITES, *(["dynamodb:UpdateTable"] if billing else [])],
                  copies),
        statement("RestoresRotateOwnCopies", ["dynamodb:DeleteTable"], copies,
                  {"StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": MANAGED}}),
        statement("RestoresAwsBackupJobStatus",
                  ["backup:DescribeRestoreJob", "backup:ListRestoreJobs"], ANY),
    ]
    # `ddb-backupd restore` (by hand, in the same role): a table's recovery points
    out += [statement("RestoresOnDemandFindRecoveryPoints",
                      ["backup:ListBackupVaults", "backup:ListRecoveryPointsByResource"], ANY),
            statement("RestoresOnDemandDescribeRecoveryPoint", ["backup:DescribeRecoveryPoint"],
                      [scope.arn("backup", "recovery-point:*")])]
    roles = sorted({scope.role(role.replace("{account}", scope.account)) for r in rules
                    if (role := r.iam_role_arn or settings.tasks.restore_role_arn)})
    if roles:  # without a role a recovery point is not restored (the task fails first)
        out += [statement("RestoresAwsBackupJobs", ["backup:StartRestoreJob"],
                          [scope.arn("backup", "recovery-point:*"), *backups]),
                _pass_role("RestoresPassRestoreRole", roles, "backup.amazonaws.com")]
    parameters = [ssm_names(r.ssm_parameter) for r in rules if r.ssm_parameter]
    if parameters:
        out.append(statement("RestoresPublishArnToSsm", ["ssm:GetParameter", "ssm:PutParameter"],
                             [scope.arn("ssm", f"parameter/{p.lstrip('/')}")
                              for p in parameters]))
    return out


# -- exports ------------------------------------------------------------------------------
def marker_base(rule: ExportRule) -> str:
    """Where a rule's markers live in its bucket (tasks/export_markers.py)."""
    return "/".join(p for p in (rule.prefix, "_backupd", rule.name) if p)


def _exports(settings: Settings, scope: Scope, *, markers: bool = True) -> list[Statement]:
    """Exports in `scope`'s account; `markers`: the daemon's markers too (its own role)."""
    rules = settings.exports
    if not rules:
        return []
    out = [statement("ExportsMarkers", ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"],
                     [scope.bucket(f"{r.bucket}/{marker_base(r)}/*") for r in rules]),
           statement("ExportsListBucketMarkers", ["s3:ListBucket"],
                     [scope.bucket(r.bucket) for r in rules],
                     {"StringLike": {"s3:prefix": sorted({f"{marker_base(r)}/open/*"
                                                          for r in rules})}})] if markers else []
    out += _dynamodb_exports([r for r in rules if r.kind == "dynamodb"], scope)
    out += _rds_exports([r for r in rules if r.kind == "rds"], scope)
    if any(r.delete_source_on_success for r in rules):
        out.append(statement("ExportsDeleteSourceRecoveryPoints", ["backup:DeleteRecoveryPoint"],
                             [scope.arn("backup", "recovery-point:*")]))
    return out


def _dynamodb_exports(rules: list[ExportRule], scope: Scope) -> list[Statement]:
    if not rules:
        return []
    sources = [regex_names(r.source_pattern) for r in rules]
    out = [statement("ExportsDynamoDbToS3", ["dynamodb:DescribeContinuousBackups",
                                             "dynamodb:ExportTableToPointInTime"],
                     [scope.table(s) for s in sources]),
           statement("ExportsDynamoDbStatus", ["dynamodb:DescribeExport"],
                     [scope.table(f"{s}/export/*") for s in sources]),
           statement("ExportsDynamoDbList", ["dynamodb:ListExports"], ANY),
           # DynamoDB writes the export with the caller's permissions
           statement("ExportsWriteBucket", ["s3:AbortMultipartUpload", "s3:PutObject",
                                            "s3:PutObjectAcl"],
                     [scope.bucket("/".join(p for p in (r.bucket, r.prefix, "*") if p))
                      for r in rules])]
    deleting = [regex_names(r.source_pattern) for r in rules if r.delete_source_on_success]
    if deleting:
        out.append(statement("ExportsDeleteSourceBackups", ["dynamodb:DeleteBackup"],
                             [scope.table(f"{s}/backup/*") for s in deleting]))
    return out


def _rds_exports(rules: list[ExportRule], scope: Scope) -> list[Statement]:
    if not rules:
        return []
    return [statement("ExportsRdsSnapshots",
                      ["rds:DescribeDBClusterSnapshots", "rds:DescribeDBSnapshots",
                       "rds:DescribeExportTasks", "rds:StartExportTask"], ANY),
            _pass_role("ExportsRdsPassExportRole",
                       [scope.role(r.rds_access(scope.account)[0]) for r in rules],
                       "export.rds.amazonaws.com"),
            *_kms(sorted({r.rds_access(scope.account)[1] for r in rules}), scope)]


def _kms(keys: list[str], scope: Scope) -> list[Statement]:
    """RDS creates a grant on the export's key for itself, with the caller's permission:
    the grant only for an AWS resource, only through RDS; keys named by alias are matched
    by their alias."""
    via = {"kms:ViaService": f"rds.{scope.region}.amazonaws.com"}
    aliases = sorted({k.split(":", 5)[-1] for k in keys if "alias/" in k})
    arns = [k if k.startswith("arn:") else scope.arn("kms", f"key/{k}")
            for k in keys if "alias/" not in k]
    out: list[Statement] = []
    for suffix, resources, extra in (
            ("", arns, {}),
            ("ByAlias", [scope.arn("kms", "key/*")] if aliases else [],
             {"ForAnyValue:StringEquals": {"kms:ResourceAliases": aliases}})):
        if not resources:
            continue
        out += [statement(f"ExportsRdsKmsGrant{suffix}", ["kms:CreateGrant"], resources,
                          {"Bool": {"kms:GrantIsForAWSResource": "true"},
                           "StringEquals": via, **extra}),
                statement(f"ExportsRdsKmsDescribeKey{suffix}", ["kms:DescribeKey"], resources,
                          {"StringEquals": via, **extra})]
    return out


# -- AWS Backup plans as code ----------------------------------------------------------
def _plans(settings: Settings, scope: Scope) -> list[Statement]:
    """Plans and vaults read back on every pass; written only when the daemon made them
    (tagged), created only with that tag; the selections' roles passed to AWS Backup."""
    plans = [p for p in settings.backup_plans if not p.accounts]  # members': member_policy
    if not plans:
        return []
    owned = [scope.arn("backup", "backup-plan:*"),
             *(scope.vault(p.vault.name) for p in plans)]
    tag = "backupd:managed-by"
    out = [statement("PlansListBackupPlans", ["backup:ListBackupPlans"], ANY),
           statement("PlansReadBackupPlansAndVaults",
                     ["backup:DescribeBackupVault", "backup:GetBackupPlan",
                      "backup:GetBackupSelection", "backup:ListBackupSelections",
                      "backup:ListTags"], owned),
           statement("PlansCreateTaggedPlansAndVaults",
                     ["backup:CreateBackupPlan", "backup:CreateBackupVault"], owned,
                     {"StringEquals": {f"aws:RequestTag/{tag}": "ddb-backupd"}}),
           statement("PlansChangeOwnPlansAndVaults",
                     ["backup:CreateBackupSelection", "backup:DeleteBackupSelection",
                      "backup:PutBackupVaultLockConfiguration", "backup:TagResource",
                      "backup:UpdateBackupPlan"], owned,
                     {"StringEquals": {f"aws:ResourceTag/{tag}": "ddb-backupd"}})]
    if any(p.vault.create for p in plans):  # AWS checks it for CreateBackupVault
        out.append(statement("PlansVaultStorage", ["backup-storage:MountCapsule"], ANY))
    keys = sorted({p.vault.kms_key_arn for p in plans if p.vault.kms_key_arn})
    if keys:
        via = {"StringLike": {"kms:ViaService": f"backup.{scope.region}.amazonaws.com"}}
        out += [statement("PlansVaultKmsGrant", ["kms:CreateGrant"], keys,
                          {"Bool": {"kms:GrantIsForAWSResource": "true"}, **via}),
                statement("PlansVaultKmsKey", ["kms:Decrypt", "kms:DescribeKey",
                                               "kms:GenerateDataKey", "kms:RetireGrant"],
                          keys, via)]
    roles = sorted({s.iam_role_arn for p in plans for s in p.selections})
    if roles:
        out.append(_pass_role("PlansPassSelectionRole", roles, "backup.amazonaws.com"))
    return out
