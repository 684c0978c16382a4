"""The Organization's stacks: the central account's bus policy and the member accounts' rule
and role (config/cloudformation/organization-*.yaml), read statically and linted."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from daemon.config.iam_policy import member_policy
from daemon.config.settings import Settings
from daemon.core.events.models import JOB_EVENTS
from tests.deploy import cfn, iam
from tests.deploy.tools import ROOT, run

CENTRAL = ROOT / "config/cloudformation/organization-central.yaml"
MEMBER = ROOT / "config/cloudformation/organization-member.yaml"


def resource(path: Path, logical_id: str) -> dict[str, Any]:
    found: dict[str, Any] = cfn.load(path)["Resources"][logical_id]
    return found


@pytest.mark.parametrize("path", [CENTRAL, MEMBER], ids=lambda p: p.name)
def test_cfn_lint_passes_every_rule_informational_included(path: Path) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    assert cfn_lint.exists(), "cfn-lint comes with the dev extras: pip install -e '.[dev]'"
    run([str(cfn_lint), "--include-checks", "I", "--", str(path)])


def test_members_forward_every_event_the_daemon_tracks_to_the_central_bus() -> None:
    rule = resource(MEMBER, "ForwardBackupEvents")["Properties"]
    assert rule["EventPattern"]["source"] == ["aws.backup"]
    assert set(rule["EventPattern"]["detail-type"]) == set(JOB_EVENTS)
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Ref": "CentralEventBusArn"}


def test_the_central_bus_takes_events_of_the_organization_where_the_queues_rule_reads() -> None:
    policy = resource(CENTRAL, "OrganizationPutsBackupEvents")["Properties"]
    assert policy["EventBusName"] == "default"
    assert policy["Statement"]["Action"] == "events:PutEvents"
    assert "aws:PrincipalOrgID" in policy["Statement"]["Condition"]["StringEquals"]
    queue_rule = cfn.load()["Resources"]["BackupEventRule"]["Properties"]
    assert "EventBusName" not in queue_rule, "the prerequisites' rule reads the default bus"


def granted_if(statements: list[dict[str, Any]], *conditions: str) -> set[str]:
    """The actions of the role's statements that apply under one of `conditions`."""
    return {a for s in statements if "Fn::If" in s and s["Fn::If"][0] in conditions
            for a in iam.as_list(s["Fn::If"][1]["Action"])}


def test_the_member_role_is_one_the_daemons_policy_may_assume_with_the_external_id() -> None:
    role = resource(MEMBER, "MemberRole")["Properties"]
    name = role["RoleName"]
    assumable = [r for s in iam.statements(iam.load(iam.POLICY))
                 if "sts:AssumeRole" in iam.as_list(s["Action"])
                 for r in iam.as_list(s["Resource"])]
    assert f"arn:aws:iam::*:role/{name}" in assumable
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Condition"]["StringEquals"]["sts:ExternalId"] == {"Ref": "ExternalId"}
    (policy,) = role["Policies"]
    statements = policy["PolicyDocument"]["Statement"]
    always = {a for s in statements if "Fn::If" not in s for a in iam.as_list(s["Action"])}
    member = "222222222222"
    template = {"role_arn_template": f"arn:aws:iam::{{account}}:role/{name}"}
    reconciled = Settings(organization=template, accounts=[member])  # through its role
    assert always == iam.granted_actions(member_policy(reconciled, member)) == {
        "dynamodb:DescribeTable", "backup:ListBackupJobs", "backup:DescribeBackupJob"}, \
        "what the daemon calls in a member account"
    scheduled = granted_if(statements, "Scheduled", "Plans")
    settings = Settings(organization=template,
                        schedules=[{"name": "m", "expression": "rate(1 hour)", "tags": {"a": "b"},
                                    "accounts": [member], "retention": {"keep_last": 1}},
                                   {"name": "v", "expression": "rate(1 hour)", "tables": ["*"],
                                    "engine": "aws-backup", "backup_vault": "vault",
                                    "iam_role_arn": "arn:aws:iam::{account}:role/backup",
                                    "accounts": [member], "retention": {"keep_last": 1}}],
                        backup_plans=[{"name": "p", "vault": {"name": "vp", "create": True},
                                       "rules": [{"name": "r", "expression": "cron(0 5 * * ? *)"}],
                                       "selections": [{"name": "s", "resources": ["*"],
                                                       "iam_role_arn":
                                                           "arn:aws:iam::{account}:role/b"}],
                                       "accounts": [member]}])
    needed = iam.granted_actions(member_policy(settings, member))
    assert needed <= always | scheduled, "the conditions grant what schedules and plans do"
    assert "backup:CreateBackupPlan" in needed


def test_restores_and_exports_in_a_member_are_granted_by_its_role_with_restores_and_exports(
        ) -> None:
    """RestoresAndExports=true (and ExportBucket) grants what the restore and export rules
    acting in the member account call there: restore, publish, rotate, export, delete the
    source; the markers stay the daemon's own role's."""
    statements = resource(MEMBER, "MemberRole")["Properties"]["Policies"][0][
        "PolicyDocument"]["Statement"]
    member = "222222222222"
    settings = Settings(
        organization={"role_arn_template": "arn:aws:iam::{account}:role/ddb-backupd-target"},
        tasks={"restore_role_arn": "arn:aws:iam::{account}:role/restore"},
        restores=[{"name": "qa", "source_pattern": "-prod$", "replacement": "-qa",
                   "ssm_parameter": "/qa/{table}", "accounts": [member],
                   "table_settings": {"billing_mode": "PAY_PER_REQUEST"}}],
        exports=[{"name": "ddb", "source_pattern": "^orders$", "bucket": "central",
                  "vaults": ["ops"], "delete_source_on_success": True,
                  "schedule": "rate(1 hour)"},
                 {"name": "rds", "kind": "rds", "source_pattern": "^billing$",
                  "bucket": "central", "iam_role_arn": "arn:aws:iam::{account}:role/export",
                  "kms_key_id": "arn:aws:kms:us-east-1:{account}:key/k"}])
    needed = iam.granted_actions(member_policy(settings, member))
    assert {"dynamodb:RestoreTableFromBackup", "ssm:PutParameter", "dynamodb:DeleteTable",
            "dynamodb:ExportTableToPointInTime", "rds:StartExportTask",
            "s3:PutObject"} <= needed
    assert not needed & {"s3:GetObject", "s3:ListBucket", "s3:DeleteObject"}, "markers"
    always = {a for s in statements if "Fn::If" not in s for a in iam.as_list(s["Action"])}
    assert needed <= always | granted_if(statements, "Tasks", "TasksWriteBucket")
