"""The prerequisites stack deployed to moto's CloudFormation, and the daemon run on its outputs.

moto creates the queues (redrive, retention), the EventBridge rule with its target, the topic
with its e-mail subscription, the lease table, the bucket (with its encryption) and the role
(trust, inline policy). It skips `AWS::SQS::QueuePolicy` and `AWS::S3::BucketPolicy` with a
warning (no CloudFormation support), and ignores the bucket's lifecycle and public access
block and the template's `Rules`; those are checked statically in test_prerequisites.py.

The stack's rule routes AWS Backup job events put on the default bus to the stack's queue,
and filters out the rest. moto delivers them without the envelope's `account` field (its
default target template leaves it out; AWS always sends it), which the daemon rightly refuses:
so the daemon's run puts the AWS samples on the stack's queue as AWS would deliver them. The
daemon is configured only by the stack's outputs, each set as the variable its Description
names and read by the daemon's own loader.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from daemon.app import Daemon, run_daemon
from daemon.config.load import load_settings
from daemon.obs.metrics import Metrics
from daemon.standin import StandIn
from tests.deploy import cfn
from tests.deploy.tools import ROOT
from tests.fixtures.standin import boto3_client

pytestmark = [pytest.mark.e2e,  # moto's warnings of the two resources it skips (above)
              pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")]
STACK = "ddb-backupd-prerequisites"
EVENTS = ROOT / "tests/data/events"
# Resource types moto's CloudFormation does not create (it warns and goes on).
MOTO_SKIPS = {"AWS::SQS::QueuePolicy", "AWS::S3::BucketPolicy"}
PARAMETERS = {"ExportBucketName": "acme-ddb-backupd-exports", "AlertEmail": "oncall@example.com"}
# What a test run changes besides the stack's outputs: speed, a free port, and a leader (the
# lease lives in the stack's table).
RUN_ENV = {"BACKUPD_QUEUE__WAIT_SECONDS": "1", "BACKUPD_HTTP__HOST": "127.0.0.1",
           "BACKUPD_HTTP__PORT": "0", "BACKUPD_SHUTDOWN_GRACE_SECONDS": "2",
           "BACKUPD_RECONCILE_SECONDS": "5", "BACKUPD_CLOUDWATCH__INTERVAL_SECONDS": "1",
           "BACKUPD_AWS__MAX_ATTEMPTS": "2", "BACKUPD_LEADER__ENABLED": "true"}


def deploy(standin: StandIn) -> dict[str, dict[str, str]]:
    """Create the stack, wait for CREATE_COMPLETE; its outputs by key (value, description)."""
    client = boto3_client(standin, "cloudformation")
    client.create_stack(
        StackName=STACK, TemplateBody=cfn.PREREQUISITES.read_text(),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()])
    client.get_waiter("stack_create_complete").wait(
        StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    (stack,) = client.describe_stacks(StackName=STACK)["Stacks"]
    return {o["OutputKey"]: {"value": o["OutputValue"], "description": o["Description"]}
            for o in stack["Outputs"]}


@pytest.fixture
def outputs(fresh_standin: StandIn, aws_env: dict[str, str]) -> dict[str, dict[str, str]]:
    return deploy(fresh_standin)


def sample(name: str, **detail: Any) -> dict[str, Any]:
    """An AWS Backup event of tests/data/events, its `detail` changed by `detail`."""
    event: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return {**event, "detail": {**event["detail"], **detail}}


def put_events_entry(event: dict[str, Any]) -> dict[str, Any]:
    return {"Source": event["source"], "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]), "Resources": event["resources"]}


async def until(condition: Callable[[], bool], seconds: float = 20.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.1)


def test_moto_creates_every_resource_but_the_two_policies(
        fresh_standin: StandIn, outputs: dict[str, dict[str, str]]) -> None:
    resources = boto3_client(fresh_standin, "cloudformation").list_stack_resources(
        StackName=STACK)["StackResourceSummaries"]
    created = {r["LogicalResourceId"]: r["ResourceType"] for r in resources
               if r["ResourceType"] and r["ResourceStatus"] == "CREATE_COMPLETE"}
    template = cfn.load()["Resources"]
    assert created == {k: v["Type"] for k, v in template.items() if v["Type"] not in MOTO_SKIPS}


def test_moto_applies_redrive_routing_subscription_encryption_and_trust(
        fresh_standin: StandIn, outputs: dict[str, dict[str, str]]) -> None:
    client = lambda service: boto3_client(fresh_standin, service)  # noqa: E731
    queue = client("sqs").get_queue_attributes(
        QueueUrl=outputs["BackupdQueueUrl"]["value"], AttributeNames=["All"])["Attributes"]
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith(":ddb-backupd-events-dlq")
    assert int(redrive["maxReceiveCount"]) == 5
    (target,) = client("events").list_targets_by_rule(Rule="ddb-backupd-events")["Targets"]
    assert target["Arn"] == queue["QueueArn"]
    (subscription,) = client("sns").list_subscriptions_by_topic(
        TopicArn=outputs["BackupdAlertTopicArn"]["value"])["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "oncall@example.com")
    (rule,) = client("s3").get_bucket_encryption(Bucket=outputs["ExportBucket"]["value"])[
        "ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    role = client("iam").get_role(RoleName="ddb-backupd")["Role"]
    assert role["Arn"] == outputs["RoleArn"]["value"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "pods.eks.amazonaws.com"}
    # moto stores a template's inline policy unserialised (GetRolePolicy answers its Python
    # repr): its content is compared with config/iam/policy.json in test_prerequisites.py
    assert client("iam").list_role_policies(RoleName="ddb-backupd")["PolicyNames"] == [
        "ddb-backupd"]


def test_the_rule_routes_job_events_to_the_queue_and_no_others(
        fresh_standin: StandIn, outputs: dict[str, dict[str, str]]) -> None:
    job = sample("eb-backup-job-dynamodb-running.json")
    restore = sample("eb-restore-job-completed.json")
    plan = sample("eb-backup-plan-modified.json")
    put = boto3_client(fresh_standin, "events").put_events(
        Entries=[put_events_entry(e) for e in (job, plan, restore)])
    assert put["FailedEntryCount"] == 0
    sqs = boto3_client(fresh_standin, "sqs")
    received = sqs.receive_message(QueueUrl=outputs["BackupdQueueUrl"]["value"],
                                   MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    bodies = sorted((json.loads(m["Body"]) for m in received), key=lambda b: b["detail-type"])
    assert [(b["source"], b["detail-type"], b["detail"]) for b in bodies] == [
        (e["source"], e["detail-type"], e["detail"]) for e in (job, restore)]


async def test_the_daemon_runs_on_the_stacks_outputs_alone(
        fresh_standin: StandIn, outputs: dict[str, dict[str, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """It consumes the stack's queue (both events handled, then deleted), publishes a failed
    job's alert to the stack's topic, and keeps its leader lease in the stack's table."""
    for output in outputs.values():
        if output["description"].startswith("BACKUPD_"):
            monkeypatch.setenv(output["description"], output["value"])
    for key, value in RUN_ENV.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    queue = outputs["BackupdQueueUrl"]["value"]
    sqs, sns = boto3_client(fresh_standin, "sqs"), boto3_client(fresh_standin, "sns")
    inbox = sqs.create_queue(QueueName="oncall-inbox")["QueueUrl"]
    sns.subscribe(TopicArn=outputs["BackupdAlertTopicArn"]["value"], Protocol="sqs",
                  Endpoint=sqs.get_queue_attributes(
                      QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    running = sample("eb-backup-job-dynamodb-running.json")
    failed = sample("eb-backup-job-dynamodb-running.json", state="FAILED",
                    statusMessage="the table was deleted during the backup")
    job = running["detail"]["backupJobId"]
    stop = asyncio.Event()
    ready: asyncio.Future[Daemon] = asyncio.get_running_loop().create_future()

    async def on_ready(wired: Daemon) -> None:
        ready.set_result(wired)

    daemon = asyncio.create_task(run_daemon(settings, metrics=Metrics(CollectorRegistry()),
                                            stop=stop, on_ready=on_ready))
    try:
        kernel = (await asyncio.wait_for(ready, 10)).kernel
        for event in (running, failed):
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps(event))
        value = kernel.metrics.registry.get_sample_value
        await until(lambda: value("backupd_events_total",
                                  {"kind": "backup_job", "outcome": "handled"}) == 2)
        await until(lambda: _queue_is_empty(sqs, queue))
        assert kernel.tracker.finished_state(job) == "FAILED"
        await until(lambda: (value("backupd_alerts_published_total",
                                   {"severity": "critical"}) or 0) == 1)
        (alert,) = sqs.receive_message(QueueUrl=inbox, WaitTimeSeconds=2)["Messages"]
        assert job in json.loads(alert["Body"])["Message"]
        lease = boto3_client(fresh_standin, "dynamodb").scan(
            TableName=outputs["BackupdLeaderTable"]["value"])["Items"]
        assert [item["lease"]["S"] for item in lease] == [settings.leader.lease_name]
    finally:
        stop.set()
        assert await asyncio.wait_for(daemon, 15) == 0


def _queue_is_empty(sqs: Any, url: str) -> bool:
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    return all(v == "0" for v in attributes.values())
