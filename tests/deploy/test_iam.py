"""IAM: the daemon's policy grants every call its code makes, and nothing else.

The list of calls is read from the daemon's source (tests/deploy/aws_calls.py), not kept by
hand: a new AWS call in the code fails here until the policy (and docs/deploy.md) grant it.
The end-to-end test checks the same against the calls counted in backupd_aws_api_calls_total.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from daemon.config.settings import CloudWatchSettings
from daemon.core.plans.ownership import MANAGED_BY, TAG_MANAGED_BY
from daemon.core.tasks.rotation import MANAGED, TAG_MANAGED
from tests.deploy import iam
from tests.deploy.aws_calls import required_actions, scan
from tests.deploy.tools import ROOT

CALLS, UNRESOLVED = scan()
REQUIRED = required_actions(CALLS)
POLICY = iam.load(iam.POLICY)
DENY = iam.load(iam.DENY_DELETION)
DOCS = ROOT / "docs/deploy.md"
FEATURES = ("Events", "Tracker", "Discovery", "Alerts", "Gauges", "Leader", "Scheduler",
            "Retention", "Restores", "Exports", "Plans", "CrossAccount")
# Actions for which AWS offers no resource-level permission: "Resource": "*" is the least.
NO_RESOURCE_LEVEL = {
    "backup:ListBackupJobs", "backup:DescribeBackupJob", "backup:ListRestoreJobs",
    "sts:GetCallerIdentity",
    "backup:DescribeRestoreJob", "backup:ListRecoveryPointsByResource",
    "backup:ListBackupVaults", "dynamodb:ListTables", "dynamodb:ListBackups",
    "dynamodb:ListExports", "cloudwatch:PutMetricData", "rds:DescribeExportTasks",
    "rds:StartExportTask", "tag:GetResources", "backup:ListBackupPlans",
    "backup-storage:MountCapsule",
    # called unfiltered by scheduled RDS exports (every snapshot, then the rule's pattern)
    "rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots",
}


def test_the_scan_finds_the_daemons_calls() -> None:
    """A sanity floor: the calls every deployment makes are seen."""
    assert {"sqs:ReceiveMessage", "backup:ListBackupJobs", "cloudwatch:PutMetricData",
            "sns:Publish"} <= set(REQUIRED)


def test_every_client_call_is_attributed_to_a_service() -> None:
    assert not UNRESOLVED, (
        "AWS calls on a client the scanner cannot tie to a service; obtain the client in the "
        "same function or name the parameter after its service (ddb, sqs, backup, ...): "
        f"{sorted(UNRESOLVED)}")


@pytest.mark.parametrize("action", sorted(REQUIRED))
def test_policy_grants_what_the_code_calls(action: str) -> None:
    assert iam.decision(action, POLICY) == "Allow", (
        f"{action} is needed by {sorted(REQUIRED[action])} but config/iam/policy.json "
        "does not grant it")


@pytest.mark.parametrize("action", sorted(iam.granted_actions(POLICY)))
def test_policy_grants_nothing_the_code_does_not_call(action: str) -> None:
    assert action in REQUIRED, f"{action} is granted but no code calls it: least privilege"


def test_policy_and_guard_are_valid_policies_without_a_star_action() -> None:
    for policy in (POLICY, DENY):
        assert policy["Version"] == "2012-10-17"
        for statement in iam.statements(policy):
            assert statement["Effect"] in {"Allow", "Deny"}
            assert statement.get("Sid")
            actions = iam.as_list(statement["Action"])
            assert "*" not in actions
            for action in actions:
                assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), action


@pytest.mark.parametrize("statement", iam.statements(POLICY), ids=lambda s: s["Sid"])
def test_each_statement_names_its_feature_and_scopes_resources(statement: dict[str, Any]) -> None:
    assert statement["Sid"].startswith(FEATURES), statement["Sid"]
    if statement["Resource"] == "*":
        assert set(statement["Action"]) <= NO_RESOURCE_LEVEL, statement["Sid"]
    else:
        for resource in iam.as_list(statement["Resource"]):
            assert resource.startswith("arn:aws:"), resource


def test_passed_roles_go_only_to_the_service_that_uses_them() -> None:
    for statement in iam.statements(POLICY):
        if "iam:PassRole" in statement["Action"]:
            assert statement["Condition"]["StringEquals"]["iam:PassedToService"]
            assert statement["Resource"] != "*"


def test_only_restored_copies_the_daemon_tagged_can_be_deleted() -> None:
    deleting = [s for s in iam.statements(POLICY) if "dynamodb:DeleteTable" in s["Action"]]
    for statement in deleting:
        assert statement["Action"] == ["dynamodb:DeleteTable"]
        assert statement["Condition"] == {
            "StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": MANAGED}}


def test_only_plans_and_vaults_the_daemon_tagged_can_be_made_or_changed() -> None:
    """Never touch a plan it did not create: IAM holds the daemon to it too (AWS Backup's
    plans and vaults take aws:ResourceTag, their creation aws:RequestTag)."""
    writes = {"backup:CreateBackupPlan", "backup:UpdateBackupPlan", "backup:TagResource",
              "backup:CreateBackupSelection", "backup:DeleteBackupSelection",
              "backup:CreateBackupVault", "backup:PutBackupVaultLockConfiguration"}
    for statement in iam.statements(POLICY):
        granted = writes & set(iam.as_list(statement["Action"]))
        if not granted:
            continue
        key = "RequestTag" if granted <= {"backup:CreateBackupPlan",
                                          "backup:CreateBackupVault"} else "ResourceTag"
        assert statement["Condition"] == {
            "StringEquals": {f"aws:{key}/{TAG_MANAGED_BY}": MANAGED_BY}}, statement["Sid"]


def test_metrics_go_only_to_the_daemons_namespace() -> None:
    namespace = CloudWatchSettings.model_fields["namespace"].default
    for statement in iam.statements(POLICY):
        if "cloudwatch:PutMetricData" in statement["Action"]:
            assert statement["Condition"] == {
                "StringEquals": {"cloudwatch:namespace": namespace}}


def test_deployment_docs_list_every_call_the_daemon_makes() -> None:
    text = DOCS.read_text()
    missing = sorted(a for a in REQUIRED if f"`{a}`" not in text)
    assert not missing, f"docs/deploy.md does not list: {missing}"
