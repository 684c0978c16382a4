"""The backup-deletion guard (config/iam/deny-backup-deletion.json): it only denies, it covers
what the AWS sample's guard covered and more, and it exempts the daemon's role alone.

Read statically (the policy evaluator of tests/deploy/iam.py, botocore's service models) and
applied under moto's IAM enforcement on the stand-in. moto checks actions, not conditions it
does not know: it refuses a person every guarded call it serves, but cannot show the daemon's
role exempt (the evaluator does; `test_moto_lets_the_exempt_role_through` records the gap).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from moto.core.authorization import enable_iam_authentication

from daemon.standin import StandIn
from tests.deploy import iam

GUARD = iam.load(iam.DENY_DELETION)
POLICY = iam.load(iam.POLICY)
GUARDED = sorted({a for s in iam.statements(GUARD) for a in iam.as_list(s["Action"])})
# What the AWS sample's guard denied, and what issue 12 asks for on top.
REQUIRED = {
    "dynamodb:DeleteBackup", "backup:DeleteRecoveryPoint", "backup:DeleteBackupSelection",
    "backup:DeleteBackupPlan", "backup:DeleteBackupVault", "backup:UpdateRecoveryPointLifecycle",
    "backup:DisassociateRecoveryPoint", "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultAccessPolicy", "backup:PutBackupVaultLockConfiguration",
    "backup:DeleteBackupVaultLockConfiguration", "backup:PutBackupVaultNotifications",
    "backup:DeleteBackupVaultNotifications"}
SCP_LIMIT = 5_120  # characters of a service control policy (AWS Organizations quotas)
ALLOW_ALL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "*", "Resource": "*"}]})
VAULT, TABLE, TOPIC = "guarded-vault", "orders", "vault-events"


# --- the policy as written ---------------------------------------------------------------

def test_the_guard_only_denies() -> None:
    """Attached to anyone, or as an SCP, it can take permissions away but never grant any."""
    for statement in iam.statements(GUARD):
        assert statement["Effect"] == "Deny", statement["Sid"]
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        assert statement["Resource"] == "*"


def test_the_guard_covers_the_samples_actions_and_more() -> None:
    assert set(GUARDED) >= REQUIRED, sorted(REQUIRED - set(GUARDED))


@pytest.mark.parametrize("action", GUARDED)
def test_every_guarded_action_is_an_operation_of_its_service(action: str) -> None:
    service, operation = action.split(":")
    names = botocore.session.get_session().get_service_model(service).operation_names
    assert operation in names, f"{action}: no such operation in botocore's {service} model"


def test_the_daemons_role_is_exempt_by_its_full_arn_in_one_account() -> None:
    for statement in iam.statements(GUARD):
        (operator, pairs), = statement["Condition"].items()
        assert (operator, list(pairs)) == ("ArnNotEquals", ["aws:PrincipalArn"])
        assert re.fullmatch(r"arn:aws:iam::[0-9]{12}:role/ddb-backupd", pairs["aws:PrincipalArn"])
        assert pairs["aws:PrincipalArn"] == iam.DAEMON_ROLE
    assert iam.decision("dynamodb:DeleteBackup", GUARD,
                        principal="arn:aws:iam::210987654321:role/ddb-backupd") == "Deny"


@pytest.mark.parametrize("action", GUARDED)
def test_guard_denies_people_what_it_lists(action: str) -> None:
    assert iam.decision(action, GUARD, principal=iam.PERSON_ROLE) == "Deny"


@pytest.mark.parametrize("action", [
    "dynamodb:CreateTable", "dynamodb:CreateBackup", "backup:StartBackupJob",
    "backup:CreateBackupVault", "dynamodb:DeleteTable"])
def test_guard_grants_nothing_and_denies_nothing_else(action: str) -> None:
    assert iam.decision(action, GUARD, principal=iam.PERSON_ROLE) == "ImplicitDeny"


def test_guard_leaves_the_daemons_own_permissions_alone() -> None:
    """Attached everywhere (or as an SCP), the guard still lets retention prune."""
    for action in sorted(iam.granted_actions(POLICY)):
        assert iam.decision(action, POLICY, GUARD, principal=iam.DAEMON_ROLE) == "Allow", action


def test_guard_fits_a_service_control_policy() -> None:
    assert len(json.dumps(GUARD, separators=(",", ":"))) <= SCP_LIMIT


# --- the policy applied: moto's IAM enforcement on the stand-in --------------------------

@dataclass
class Estate:
    """What the guarded calls act on, created before enforcement is switched on."""

    backup_arn: str
    recovery_point_arn: str
    topic_arn: str


Call = Callable[[Callable[[str], Any], Estate], object]
# guarded action -> one call of it (moto's or the stand-in's fake's)
SERVED: dict[str, Call] = {
    "dynamodb:DeleteBackup": lambda c, e: c("dynamodb").delete_backup(BackupArn=e.backup_arn),
    "backup:DeleteRecoveryPoint": lambda c, e: c("backup").delete_recovery_point(
        BackupVaultName=VAULT, RecoveryPointArn=e.recovery_point_arn),
    "backup:PutBackupVaultNotifications": lambda c, e: c(
        "backup").put_backup_vault_notifications(
        BackupVaultName=VAULT, SNSTopicArn=e.topic_arn, BackupVaultEvents=["BACKUP_JOB_COMPLETED"]),
    "backup:DeleteBackupVaultNotifications": lambda c, e: c(
        "backup").delete_backup_vault_notifications(BackupVaultName=VAULT),
    "backup:PutBackupVaultLockConfiguration": lambda c, e: c(
        "backup").put_backup_vault_lock_configuration(BackupVaultName=VAULT, MinRetentionDays=7),
    "rds:DeleteDBSnapshot": lambda c, e: c("rds").delete_db_snapshot(DBSnapshotIdentifier="snap"),
    "rds:DeleteDBClusterSnapshot": lambda c, e: c("rds").delete_db_cluster_snapshot(
        DBClusterSnapshotIdentifier="cluster-snap"),
}
# Guarded actions the stand-in cannot check, and why.
NOT_SERVED = {
    "backup:DeleteBackupPlan": "moto refuses its own SigV4 signature of this DELETE under "
                               "enforcement (SignatureDoesNotMatch, even for Allow *)",
    "backup:DeleteBackupSelection": "as DeleteBackupPlan",
    "backup:DeleteBackupVault": "as DeleteBackupPlan",
    "backup:DeleteBackupVaultLockConfiguration": "as DeleteBackupPlan",
    "backup:PutBackupVaultAccessPolicy": "neither moto nor the fake serves it",
    "backup:DeleteBackupVaultAccessPolicy": "neither moto nor the fake serves it",
    "backup:UpdateRecoveryPointLifecycle": "neither moto nor the fake serves it",
    "backup:DisassociateRecoveryPoint": "neither moto nor the fake serves it",
}


def test_every_guarded_action_is_applied_on_the_stand_in_or_says_why_not() -> None:
    assert set(SERVED) | set(NOT_SERVED) == set(GUARDED)
    assert not set(SERVED) & set(NOT_SERVED)


def _client(standin: StandIn, keys: tuple[str, ...]) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        key, secret, *token = keys
        return boto3.client(service, region_name=standin.region,
                            endpoint_url=standin.endpoint_url, aws_access_key_id=key,
                            aws_secret_access_key=secret,
                            aws_session_token=token[0] if token else None)
    return make


def _user(iam_client: Any, name: str, *documents: str) -> tuple[str, str]:
    iam_client.create_user(UserName=name)
    for i, document in enumerate(documents):
        iam_client.put_user_policy(UserName=name, PolicyName=f"p{i}", PolicyDocument=document)
    key = iam_client.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _estate(standin: StandIn, admin: Callable[[str], Any]) -> Estate:
    ddb, rds = admin("dynamodb"), admin("rds")
    arn = ddb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )["TableDescription"]["TableArn"]
    backup = ddb.create_backup(TableName=TABLE, BackupName="before-the-guard")
    admin("backup").create_backup_vault(BackupVaultName=VAULT)
    job = standin.backup.inject_job(arn, VAULT, state="COMPLETED", size_bytes=1)
    topic = admin("sns").create_topic(Name=TOPIC)["TopicArn"]
    rds.create_db_instance(DBInstanceIdentifier="db", DBInstanceClass="db.t3.micro",
                           Engine="postgres", MasterUsername="admin",
                           MasterUserPassword="not-a-secret-1", AllocatedStorage=20)
    rds.create_db_snapshot(DBInstanceIdentifier="db", DBSnapshotIdentifier="snap")
    rds.create_db_cluster(DBClusterIdentifier="cluster", Engine="aurora-postgresql",
                          MasterUsername="admin", MasterUserPassword="not-a-secret-1")
    rds.create_db_cluster_snapshot(DBClusterIdentifier="cluster",
                                   DBClusterSnapshotIdentifier="cluster-snap")
    return Estate(backup["BackupDetails"]["BackupArn"],
                  standin.backup.job(job.job_id).recovery_point_arn or "", topic)


def _refusal(call: Call, client: Callable[[str], Any], estate: Estate) -> str | None:
    """The access-denied message of `call`, or None when IAM let it through. (moto answers
    JSON-protocol services' refusals in its XML shape, which botocore reports as code 403.)"""
    try:
        call(client, estate)
    except ClientError as exc:
        error = exc.response["Error"]
        message = str(error.get("Message", ""))
        if error.get("Code") in {"AccessDenied", "AccessDeniedException"} or (
                error.get("Code") == "403" and "<Code>AccessDenied</Code>" in message):
            return message
    return None


@pytest.fixture
def people(fresh_standin: StandIn) -> tuple[StandIn, dict[str, Callable[[str], Any]], Estate]:
    """A developer (everything allowed, and the guard) and an admin (everything allowed)."""
    setup = _client(fresh_standin, ("testing", "testing"))
    developer = _user(setup("iam"), "developer", ALLOW_ALL, iam.DENY_DELETION.read_text())
    admin = _client(fresh_standin, _user(setup("iam"), "admin", ALLOW_ALL))
    return fresh_standin, {"developer": _client(fresh_standin, developer), "admin": admin}, \
        _estate(fresh_standin, admin)


@pytest.mark.e2e
@pytest.mark.parametrize("action", sorted(SERVED))
def test_under_iam_enforcement_the_guard_refuses_a_person(
        people: tuple[StandIn, dict[str, Callable[[str], Any]], Estate], action: str) -> None:
    """The developer is refused with the action named; the same call by an admin without
    the guard succeeds (the refusal is the guard's doing)."""
    _, clients, estate = people
    with enable_iam_authentication():
        refused = _refusal(SERVED[action], clients["developer"], estate)
        assert refused is not None, f"{action} was not refused"
        assert f"not authorized to perform: {action}" in refused
        SERVED[action](clients["admin"], estate)


@pytest.mark.e2e
def test_under_iam_enforcement_a_guarded_person_still_creates_tables_and_backups(
        people: tuple[StandIn, dict[str, Callable[[str], Any]], Estate]) -> None:
    standin, clients, _ = people
    developer = clients["developer"]
    with enable_iam_authentication():
        ddb = developer("dynamodb")
        arn = ddb.create_table(
            TableName="new-table", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        )["TableDescription"]["TableArn"]
        ddb.create_backup(TableName="new-table", BackupName="by-a-person")
        job = developer("backup").start_backup_job(
            BackupVaultName=VAULT, ResourceArn=arn,
            IamRoleArn=f"arn:aws:iam::{standin.backup.account}:role/backup")
    assert job["BackupJobId"]


@pytest.mark.e2e
@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "moto evaluates only StringEquals conditions and knows no aws:PrincipalArn, so it "
    "applies the guard's Deny to the exempt role too; tests/deploy/iam.py shows the "
    "exemption. Remove this mark when moto learns ArnNotEquals."))
def test_moto_lets_the_exempt_role_through(
        people: tuple[StandIn, dict[str, Callable[[str], Any]], Estate]) -> None:
    standin, clients, estate = people
    setup = _client(standin, ("testing", "testing"))("iam")
    setup.create_role(RoleName="ddb-backupd", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{standin.backup.account}:root"}}]}))
    for name, document in (("all", ALLOW_ALL), ("guard", iam.DENY_DELETION.read_text())):
        setup.put_role_policy(RoleName="ddb-backupd", PolicyName=name, PolicyDocument=document)
    creds = clients["admin"]("sts").assume_role(
        RoleArn=f"arn:aws:iam::{standin.backup.account}:role/ddb-backupd",
        RoleSessionName="retention")["Credentials"]
    daemon = _client(standin, (creds["AccessKeyId"], creds["SecretAccessKey"],
                               creds["SessionToken"]))
    with enable_iam_authentication():
        assert _refusal(SERVED["dynamodb:DeleteBackup"], daemon, estate) is None
