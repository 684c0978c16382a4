"""The policy `ddb-backupd iam-policy` generates from a configuration: inside the shipped
superset, scoped and conditioned as the shipped statements are, and never missing a call.

For every configuration the project ships or runs (tests/deploy/configs.py). Whether the
daemon really runs on it is the end-to-end half: tests/trust/test_least_privilege.py and
tests/trust/test_generated_privilege.py run it under moto's IAM enforcement.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from daemon.config.iam_policy import PRINCIPAL_ACCOUNT, member_policy, policy_for
from daemon.config.settings import Settings
from daemon.core.tasks.rotation import MANAGED, TAG_MANAGED
from tests.deploy import iam
from tests.deploy.aws_calls import required_actions, scan
from tests.deploy.configs import ACCOUNT, CONFIGS, everything, example_env, example_yaml
from tests.deploy.test_iam import FEATURES, NO_RESOURCE_LEVEL

SHIPPED = iam.load(iam.POLICY)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def generated(request: pytest.FixtureRequest) -> tuple[Settings, dict[str, Any]]:
    settings = CONFIGS[request.param]()
    return settings, policy_for(settings)


def test_it_grants_no_action_the_shipped_policy_does_not(
        generated: tuple[Settings, dict[str, Any]]) -> None:
    _, policy = generated
    extra = iam.granted_actions(policy) - iam.granted_actions(SHIPPED)
    assert not extra, f"config/iam/policy.json is the superset, yet lacks {sorted(extra)}"


def test_with_every_feature_on_it_grants_every_call_the_code_makes() -> None:
    """A call added to the code fails here until the generator knows which feature makes it."""
    assert iam.granted_actions(policy_for(everything())) == set(required_actions(scan()[0]))


def test_its_statements_are_named_by_feature_and_scoped(
        generated: tuple[Settings, dict[str, Any]]) -> None:
    _, policy = generated
    sids = [s["Sid"] for s in iam.statements(policy)]
    assert policy["Version"] == "2012-10-17"
    assert len(sids) == len(set(sids))
    for statement in iam.statements(policy):
        assert statement["Sid"].startswith(FEATURES), statement["Sid"]
        assert statement["Effect"] == "Allow"
        assert statement["Action"]
        assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", a) for a in statement["Action"])
        if statement["Resource"] == "*":
            assert set(statement["Action"]) <= NO_RESOURCE_LEVEL, statement["Sid"]
        else:
            assert statement["Resource"]
            assert all(r.startswith("arn:aws:") for r in statement["Resource"])


def test_its_conditions_are_the_shipped_ones_and_kms_grants_only_for_aws_resources(
        generated: tuple[Settings, dict[str, Any]]) -> None:
    settings, policy = generated
    for statement in iam.statements(policy):
        actions, condition = set(statement["Action"]), statement.get("Condition", {})
        if "iam:PassRole" in actions:
            assert condition["StringEquals"]["iam:PassedToService"].endswith(".amazonaws.com")
        if "kms:CreateGrant" in actions:
            assert condition["Bool"] == {"kms:GrantIsForAWSResource": "true"}
        if "dynamodb:DeleteTable" in actions:
            assert condition == {"StringEquals": {f"aws:ResourceTag/{TAG_MANAGED}": MANAGED}}
        if "cloudwatch:PutMetricData" in actions:
            assert condition == {"StringEquals": {
                "cloudwatch:namespace": settings.cloudwatch.namespace}}


def test_it_assumes_no_role_but_the_configured_ones(
        generated: tuple[Settings, dict[str, Any]]) -> None:
    """The one assumed role, and the member accounts' roles of the template (any account)."""
    settings, policy = generated
    assuming = [r for s in iam.statements(policy) if "sts:AssumeRole" in s["Action"]
                for r in iam.as_list(s["Resource"])]
    template = settings.organization.role_arn_template
    want = [role for role in (settings.aws.assume_role_arn,
                              template and template.replace("{account}", "*")) if role]
    assert sorted(assuming) == sorted(want)


def test_the_yaml_and_the_env_forms_of_the_example_need_the_same_policy() -> None:
    assert policy_for(example_yaml()) == policy_for(example_env())


def resources(policy: dict[str, Any], sid: str) -> list[str]:
    (statement,) = [s for s in iam.statements(policy) if s["Sid"] == sid]
    return list(statement["Resource"])


def test_the_example_estate_is_scoped_to_what_it_names() -> None:
    policy = policy_for(example_yaml(), ACCOUNT)
    at = f"eu-west-1:{ACCOUNT}"
    assert resources(policy, "EventsConsumeBackupEventQueue") == [
        f"arn:aws:sqs:{at}:ddb-backupd-events"]
    assert resources(policy, "SchedulerNativeBackups") == [
        f"arn:aws:dynamodb:{at}:table/orders-*"]
    assert resources(policy, "SchedulerAwsBackupJobs") == [
        f"arn:aws:backup:{at}:backup-vault:ddb-backupd-vault"]
    assert resources(policy, "SchedulerPassBackupRole") == [
        f"arn:aws:iam::{ACCOUNT}:role/ddb-backupd-backup"]
    assert resources(policy, "RestoresRotateOwnCopies") == [
        f"arn:aws:dynamodb:{at}:table/orders-*-staging-????????-??-??-??"]
    assert resources(policy, "RestoresPublishArnToSsm") == [
        f"arn:aws:ssm:{at}:parameter/staging/orders-table-arn"]
    assert resources(policy, "ExportsWriteBucket") == ["arn:aws:s3:::ddb-backupd-exports/dynamodb/*"]
    assert resources(policy, "LeaderLeaseTable") == [f"arn:aws:dynamodb:{at}:table/ddb-backupd-leader"]


def test_without_an_account_resources_are_in_the_roles_own_account() -> None:
    policy = policy_for(example_yaml())
    assert resources(policy, "LeaderLeaseTable") == [
        f"arn:aws:dynamodb:eu-west-1:{PRINCIPAL_ACCOUNT}:table/ddb-backupd-leader"]


def test_features_left_off_add_nothing() -> None:
    """No queue, topic, schedule, rule or replicas: the reconcile, table sizes, gauges."""
    policy = policy_for(Settings())
    assert [s["Sid"] for s in iam.statements(policy)] == [
        "TrackerReconcileBackupJobs", "TrackerDescribeTables", "GaugesPutMetricData"]
    quiet = policy_for(Settings(cloudwatch={"enabled": False}))
    assert "cloudwatch:PutMetricData" not in iam.granted_actions(quiet)


def test_a_dry_run_creates_and_deletes_no_backups() -> None:
    dry = policy_for(everything().model_copy(update={"dry_run": True}))
    granted = iam.granted_actions(dry)
    assert not granted & {"dynamodb:CreateBackup", "backup:StartBackupJob"}
    assert "dynamodb:DeleteBackup" in granted  # exports still delete their sources
    assert [r for s in iam.statements(dry) if s["Sid"] == "SchedulerNativeBackupRecords"
            for r in s["Action"]] == ["dynamodb:DescribeBackup"]


def test_rds_keys_named_by_alias_are_matched_by_alias() -> None:
    policy = policy_for(everything())
    (statement,) = [s for s in iam.statements(policy) if s["Sid"] == "ExportsRdsKmsGrantByAlias"]
    assert statement["Condition"]["ForAnyValue:StringEquals"] == {
        "kms:ResourceAliases": ["alias/exports"]}
    assert statement["Condition"]["StringEquals"] == {"kms:ViaService": "rds.eu-west-1.amazonaws.com"}


def test_schedules_in_member_accounts_are_granted_in_the_members_roles() -> None:
    """The daemon's own role assumes the members' roles; each member's role does that
    account's discovery, backups and retention, on its tables only."""
    member, other = "222222222222", "444444444444"
    settings = Settings(region="eu-west-1", organization={
        "role_arn_template": "arn:aws:iam::{account}:role/ddb-backupd-member"}, schedules=[
        {"name": "members", "expression": "rate(1 hour)", "tables": ["orders-*"],
         "accounts": [member], "retention": {"keep_last": 2}}])
    own = policy_for(settings, ACCOUNT)
    assert "dynamodb:CreateBackup" not in iam.granted_actions(own)
    assert resources(own, "CrossAccountMemberRoles") == ["arn:aws:iam::*:role/ddb-backupd-member"]
    role = member_policy(settings, member)
    at = f"eu-west-1:{member}"
    assert resources(role, "SchedulerNativeBackups") == [f"arn:aws:dynamodb:{at}:table/orders-*"]
    assert resources(role, "SchedulerNativeBackupRecords") == [
        f"arn:aws:dynamodb:{at}:table/orders-*/backup/*"]
    assert {"dynamodb:ListTables", "dynamodb:ListBackups", "dynamodb:DescribeTable",
            "dynamodb:DeleteBackup"} <= iam.granted_actions(role)
    assert iam.granted_actions(member_policy(settings, other)) == {"dynamodb:DescribeTable"}


def test_a_member_reconciled_through_its_role_may_list_and_describe_its_backup_jobs() -> None:
    """Without an Organization the reconcile lists each served account through its role;
    with one, cross-account monitoring lists it from the management account."""
    member, other = "222222222222", "444444444444"
    roles = {"role_arn_template": "arn:aws:iam::{account}:role/ddb-backupd-member"}
    reconcile = {"backup:ListBackupJobs", "backup:DescribeBackupJob"}
    served = Settings(organization=roles, accounts=[ACCOUNT, member])
    assert iam.granted_actions(member_policy(served, member)) == {
        "dynamodb:DescribeTable", *reconcile}
    assert iam.granted_actions(member_policy(served, other)) == {"dynamodb:DescribeTable"}
    organization = Settings(organization={**roles, "enabled": True}, accounts=[member])
    assert not reconcile & iam.granted_actions(member_policy(organization, member))
def test_aws_backup_schedules_in_members_pass_the_members_backup_role_into_its_vault() -> None:
    """Each member's role starts the jobs into that member's vault, passes that member's
    backup role ('{account}' made the member's) to AWS Backup only, and lists and prunes the
    recovery points there."""
    member = "222222222222"
    settings = Settings(region="eu-west-1", organization={
        "role_arn_template": "arn:aws:iam::{account}:role/ddb-backupd-member"}, schedules=[
        {"name": "members", "expression": "rate(1 hour)", "tables": ["orders-*"],
         "engine": "aws-backup", "backup_vault": "vault-{account}",
         "iam_role_arn": "arn:aws:iam::{account}:role/backup", "accounts": [member],
         "retention": {"keep_last": 2}}])
    role = member_policy(settings, member)
    at = f"eu-west-1:{member}"
    assert resources(role, "SchedulerAwsBackupJobs") == [
        f"arn:aws:backup:{at}:backup-vault:vault-{member}"]
    (passing,) = [s for s in iam.statements(role) if s["Sid"] == "SchedulerPassBackupRole"]
    assert passing["Resource"] == [f"arn:aws:iam::{member}:role/backup"]
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "backup.amazonaws.com"}}
    assert {"backup:ListBackupJobs", "backup:ListRecoveryPointsByBackupVault",
            "backup:ListTags", "backup:DeleteRecoveryPoint"} <= iam.granted_actions(role)
    assert "backup:StartBackupJob" not in iam.granted_actions(policy_for(settings, ACCOUNT))
def test_restores_and_exports_acting_in_a_member_are_granted_in_its_role_only_there() -> None:
    """A rule listing the member (or no account) restores and exports there through the
    member's role, with its own account's restore role and SSM parameter; a rule listing
    another account grants nothing in this one; markers stay the daemon's own."""
    member, other = "222222222222", "444444444444"
    settings = Settings(region="eu-west-1", organization={
        "role_arn_template": "arn:aws:iam::{account}:role/ddb-backupd-member"},
        tasks={"restore_role_arn": "arn:aws:iam::{account}:role/restore"},
        restores=[{"name": "qa", "source_pattern": "-prod$", "replacement": "-qa",
                   "ssm_parameter": "/qa/{table}", "accounts": [member]}],
        exports=[{"name": "any", "source_pattern": "^orders$", "bucket": "central"}])
    role = member_policy(settings, member)
    assert resources(role, "RestoresPassRestoreRole") == [f"arn:aws:iam::{member}:role/restore"]
    assert resources(role, "RestoresPublishArnToSsm") == [
        f"arn:aws:ssm:eu-west-1:{member}:parameter/qa/*"]
    assert resources(role, "ExportsDynamoDbToS3") == [
        f"arn:aws:dynamodb:eu-west-1:{member}:table/orders"]
    assert "ExportsMarkers" not in {s["Sid"] for s in iam.statements(role)}
    elsewhere = iam.granted_actions(member_policy(settings, other))
    assert "dynamodb:ExportTableToPointInTime" in elsewhere, "a rule listing no account"
    assert "dynamodb:RestoreTableFromBackup" not in elsewhere
    own = policy_for(settings, ACCOUNT)
    assert resources(own, "RestoresPassRestoreRole") == [f"arn:aws:iam::{ACCOUNT}:role/restore"]
