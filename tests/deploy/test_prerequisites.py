"""The prerequisites template (config/cloudformation/prerequisites.yaml), read statically.

cfn-lint checks it as CloudFormation would; the rest checks what cfn-lint cannot know: that
the role carries exactly config/iam/policy.json and the trust of config/iam/trust-*.json, that
resources bear the names that policy and the deletion guard name, that the rule sends what the
daemon decodes, and that the outputs are the daemon's settings. test_prerequisites_stack.py
deploys it to moto's CloudFormation and runs the daemon on its outputs.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from annotated_types import Le

from daemon.config.leader import LeaderSettings
from daemon.config.reference import env_vars
from daemon.config.tasks import TaskSettings
from daemon.core.events.models import JOB_EVENTS
from tests.deploy import cfn, iam
from tests.deploy.tools import ROOT, run

POLICY = iam.load(iam.POLICY)
GUARD = iam.load(iam.DENY_DELETION)
TEMPLATE = cfn.load()
DEFAULTS = cfn.Stack(TEMPLATE)
TEMPLATES = [cfn.PREREQUISITES, ROOT / "config/cloudwatch/alarms.json"]
DOCS = ROOT / "docs/deploy.md"
INLINE_ROLE_POLICY_LIMIT = 10_240  # characters, whitespace not counted (IAM quotas)
IRSA = {"Trust": "eks-irsa",
        "OidcProvider": "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"}
# The settings the stack determines: each is the Description of one output.
SETTINGS_OUTPUTS = {"BackupdRegion": "BACKUPD_REGION", "BackupdQueueUrl": "BACKUPD_QUEUE_URL",
                    "BackupdAlertTopicArn": "BACKUPD_ALERT_TOPIC_ARN",
                    "BackupdLeaderTable": "BACKUPD_LEADER__TABLE"}


def role_policy(stack: cfn.Stack) -> dict[str, Any]:
    (policy,) = stack.resource("DaemonRole")["Properties"]["Policies"]
    document: dict[str, Any] = policy["PolicyDocument"]
    return document


def trust(stack: cfn.Stack) -> dict[str, Any]:
    document = stack.resource("DaemonRole")["Properties"]["AssumeRolePolicyDocument"]
    parsed: dict[str, Any] = json.loads(document) if isinstance(document, str) else document
    return parsed


def properties(logical_id: str, stack: cfn.Stack = DEFAULTS) -> dict[str, Any]:
    props: dict[str, Any] = stack.resource(logical_id)["Properties"]
    return props


def arns(action_prefix: str, policy: dict[str, Any] = POLICY) -> list[str]:
    """Every resource ARN of the statements granting an action of `action_prefix`."""
    return [r for s in iam.statements(policy)
            if any(a.startswith(action_prefix) for a in iam.as_list(s["Action"]))
            for r in iam.as_list(s["Resource"]) if r != "*"]


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: p.name)
def test_cfn_lint_passes_every_rule_informational_included(path: Path) -> None:
    cfn_lint = Path(sys.executable).with_name("cfn-lint")
    assert cfn_lint.exists(), "cfn-lint comes with the dev extras: pip install -e '.[dev]'"
    run([str(cfn_lint), "--include-checks", "I", "--", str(path)])


def test_the_role_carries_exactly_the_shipped_policy() -> None:
    assert role_policy(DEFAULTS) == POLICY, (
        "the DaemonRole's policy in config/cloudformation/prerequisites.yaml differs from "
        "config/iam/policy.json: run .venv/bin/python scripts/cfn_policy.py")


def test_the_bucket_parameter_moves_only_the_bucket_arns() -> None:
    moved = role_policy(cfn.Stack(TEMPLATE, {"ExportBucketName": "acme-ddb-exports"}))
    text = json.dumps(POLICY).replace(":::ddb-backupd-exports", ":::acme-ddb-exports")
    assert moved == json.loads(text)
    assert arns("s3:", moved) == ["arn:aws:s3:::acme-ddb-exports/*",
                                  "arn:aws:s3:::acme-ddb-exports"]


def test_the_policy_fits_an_inline_role_policy() -> None:
    size = len(json.dumps(POLICY, separators=(",", ":")))
    assert size <= INLINE_ROLE_POLICY_LIMIT, f"{size} characters: split it into two policies"


@pytest.mark.parametrize(("parameters", "path"), [
    ({}, "trust-eks-pod-identity.json"),
    (IRSA, "trust-eks-irsa.json"),
    ({"Trust": "ecs-tasks"}, "trust-ecs-tasks.json"),
], ids=["eks-pod-identity", "eks-irsa", "ecs-tasks"])
def test_each_trust_is_the_shipped_trust_policy(parameters: dict[str, str], path: str) -> None:
    """In the examples' account and region, the role trusts what config/iam/ says."""
    stack = cfn.Stack(TEMPLATE, parameters)
    assert trust(stack) == iam.load(ROOT / "config/iam" / path)


def test_irsa_without_its_oidc_provider_is_refused() -> None:
    (rule,) = TEMPLATE["Rules"].values()
    assert rule["RuleCondition"] == {"Fn::Equals": [{"Ref": "Trust"}, "eks-irsa"]}
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "OidcProvider"}, ""]}]}


def test_resources_bear_the_names_the_policy_and_the_guard_name() -> None:
    """The policy's ARNs name the queue, topic, lease table and bucket; the guard exempts
    the role by name: another name would leave the daemon without its permissions."""
    assert arns("sqs:") == [
        f"arn:aws:sqs:*:${{aws:PrincipalAccount}}:{properties('EventQueue')['QueueName']}"]
    assert arns("sns:") == [
        f"arn:aws:sns:*:${{aws:PrincipalAccount}}:{properties('AlertTopic')['TopicName']}"]
    lease = properties("LeaseTable")["TableName"]
    assert lease == LeaderSettings.model_fields["table"].default
    assert f"arn:aws:dynamodb:*:${{aws:PrincipalAccount}}:table/{lease}" in arns("dynamodb:")
    bucket = properties("ExportBucket")["BucketName"]
    assert arns("s3:") == [f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}"]
    exempt = {s["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]
              for s in iam.statements(GUARD)}
    assert exempt == {f"arn:aws:iam::{cfn.ACCOUNT}:role/{properties('DaemonRole')['RoleName']}"}


def test_the_rule_sends_what_the_daemon_tracks_to_the_queue() -> None:
    rule = properties("BackupEventRule")
    assert rule["EventPattern"] == {"source": ["aws.backup"],
                                    "detail-type": sorted(JOB_EVENTS)}
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["EventQueue", "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["EventDeadLetterQueue", "Arn"]}


def test_only_the_rule_may_send_to_the_queues() -> None:
    policy = properties("EventQueuePolicy")
    assert policy["Queues"] == [{"Ref": "EventQueue"}, {"Ref": "EventDeadLetterQueue"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["BackupEventRule", "Arn"]}}}


def test_poison_messages_are_redriven_and_kept_longer_than_the_queue_keeps_them() -> None:
    queue, dlq = properties("EventQueue"), properties("EventDeadLetterQueue")
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["EventDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5}
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]


@pytest.mark.parametrize("email", ["", "oncall@example.com"])
def test_the_alert_topic_mails_only_when_asked(email: str) -> None:
    topic = properties("AlertTopic", cfn.Stack(TEMPLATE, {"AlertEmail": email}))
    expected = [{"Protocol": "email", "Endpoint": email}] if email else None
    assert topic.get("Subscription") == expected


def test_the_bucket_refuses_plain_http_and_public_access() -> None:
    bucket = properties("ExportBucket")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    (statement,) = properties("ExportBucketPolicy")["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Resource"] == [{"Fn::GetAtt": ["ExportBucket", "Arn"]},
                                     "${ExportBucket.Arn}/*"]
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert DEFAULTS.template["Resources"]["ExportBucket"]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize(("key", "expected"), [
    ("", {"SSEAlgorithm": "AES256"}),
    ("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
     {"SSEAlgorithm": "aws:kms",
      "KMSMasterKeyID": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}),
], ids=["sse-s3", "sse-kms"])
def test_the_bucket_encrypts_with_the_key_given_else_sse_s3(key: str,
                                                             expected: dict[str, str]) -> None:
    bucket = properties("ExportBucket", cfn.Stack(TEMPLATE, {"ExportKmsKeyArn": key}))
    (rule,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert rule["ServerSideEncryptionByDefault"] == expected
    assert rule.get("BucketKeyEnabled", False) is bool(key)


def test_exports_expire_only_after_the_markers_catch_up_reads() -> None:
    """The lifecycle may not delete the daemon's export markers while its catch-up can still
    look for them (tasks.catchup_seconds, at most 35 days)."""
    (le,) = [m for m in TaskSettings.model_fields["catchup_seconds"].metadata
             if isinstance(m, Le)]
    days = TEMPLATE["Parameters"]["ExportExpirationDays"]
    assert days["MinValue"] * 86400 > float(le.le)  # type: ignore[arg-type]
    (rule,) = properties("ExportBucket")["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == str(days["Default"])
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_the_outputs_are_the_settings_the_stack_determines() -> None:
    """An output whose Description is a BACKUPD_ variable is the value to set it to; those
    are exactly the daemon's settings the stack decides, and real variables of Settings."""
    outputs = TEMPLATE["Outputs"]
    named = {k: o["Description"] for k, o in outputs.items()
             if o["Description"].startswith("BACKUPD_")}
    assert named == SETTINGS_OUTPUTS
    assert set(named.values()) <= {v.name for v in env_vars()}
    assert set(outputs) - set(named) == {"ExportBucket", "RoleArn"}
    assert "BACKUPD_EXPORTS" in outputs["ExportBucket"]["Description"]


def test_the_deployment_docs_map_every_output() -> None:
    text = DOCS.read_text()
    for key, description in TEMPLATE["Outputs"].items():
        assert f"`{key}`" in text, f"docs/deploy.md does not name the output {key}"
        if description["Description"].startswith("BACKUPD_"):
            assert f"| `{key}` | `{description['Description']}` |" in text, key
    for name in TEMPLATE["Parameters"]:
        assert f"`{name}`" in text, f"docs/deploy.md does not explain the parameter {name}"
