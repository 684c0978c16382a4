"""Restores and exports in member accounts, end to end on the stand-in: a member account's
completed backup (on the bus, or as its job's events on the central queue) is restored,
published and rotated in that account through its role (moto derives the account from the
assumed-role credentials), its table exported from there into the daemon's bucket; the
rescan and the catch-up reach members too; a member whose role is refused fails its task
naming the account, is retried, and holds up no own-account restore; without a role
template a member's completion is skipped with a reason, never attempted in the daemon's
own account."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto.core.utils import unix_time
from moto.dynamodb.models import dynamodb_backends
from structlog.testing import capture_logs

from daemon.app import Daemon, run_daemon
from daemon.aws.session import AwsClients
from daemon.kernel.bus import BackupCompleted
from tests.fixtures.roles import RefusingSts
from tests.fixtures.standin import boto3_client, member_client
from tests.tasks.conftest import halt, settings_with, wait_until

pytestmark = pytest.mark.e2e
A, B = "222222222222", "444444444444"
TEMPLATE = "arn:aws:iam::{account}:role/ddb-backupd-target"
SSM = "/staging/{table}-arn"
ITEMS = [{"pk": {"S": f"order-{i}"}} for i in range(5)]
BUCKET = "central-exports"


def in_account(standin: Any, account: str, service: str) -> Any:
    """A client of `service` in member `account`, with its assumed-role credentials."""
    return member_client(standin, service, account, role_arn_template=TEMPLATE)


def source_table(ddb: Any, name: str, *, pitr: bool = False) -> str:
    """`name` with five items (and PITR when asked) in the account of `ddb`; its ARN."""
    arn: str = ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    )["TableDescription"]["TableArn"]
    for item in ITEMS:
        ddb.put_item(TableName=name, Item=item)
    if pitr:
        ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={
            "PointInTimeRecoveryEnabled": True})
    return arn


def backed_up(ddb: Any, table_arn: str, at: datetime, label: str = "b") -> BackupCompleted:
    """A native backup of the table, completed at `at`, as the bus carries it."""
    arn = ddb.create_backup(TableName=table_arn.rsplit("/", 1)[1],
                            BackupName=f"{label}-{at:%Y%m%d}")["BackupDetails"]["BackupArn"]
    return BackupCompleted(recovery_point_arn=arn, resource_arn=table_arn,
                           resource_type="DynamoDB", created=at, origin="event")


def rule(**extra: Any) -> dict[str, Any]:
    return {"name": "staging", "source_pattern": "(?i)-production$", "replacement": "-staging",
            "ssm_parameter": SSM, "keep_last": 2,
            "validate": {"min_items": 5, "sample_reads": 3}, **extra}


def org(**values: Any) -> Any:
    return settings_with(organization={"role_arn_template": TEMPLATE,
                                       **values.pop("organization", {})}, **values)


def staging(ddb: Any) -> set[str]:
    return {n for n in ddb.list_tables()["TableNames"] if n.startswith("orders-staging-")}


def tags_of(ddb: Any, name: str) -> dict[str, str]:
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    pages = ddb.get_paginator("list_tags_of_resource").paginate(ResourceArn=arn)
    return {t["Key"]: t["Value"] for page in pages for t in page["Tags"]}


def no_parameter(ssm: Any, name: str) -> bool:
    try:
        ssm.get_parameter(Name=name)
    except ssm.exceptions.ParameterNotFound:
        return True
    return False


async def test_a_member_backup_is_restored_published_and_rotated_in_the_member_account(
        daemon: Any, fresh_standin: Any) -> None:
    member = {s: in_account(fresh_standin, A, s) for s in ("dynamodb", "ssm")}
    own = {s: boto3_client(fresh_standin, s) for s in ("dynamodb", "ssm")}
    table = source_table(member["dynamodb"], "orders-production")
    assert table.split(":")[4] == A
    instance = await daemon(org(restores=[rule()]))
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    names = []
    for day in range(3):
        at = first + timedelta(days=day)
        names.append(f"orders-staging-{at:%Y%m%d-%H-%M-%S}")
        instance.kernel.bus.publish(backed_up(member["dynamodb"], table, at))
        await instance.settle()

    assert instance.tasks_total("restore", "succeeded") == 3
    assert staging(member["dynamodb"]) == {names[1], names[2]}, "the oldest rotated away"
    newest = member["dynamodb"].describe_table(TableName=names[2])["Table"]
    assert newest["TableStatus"] == "ACTIVE"
    assert newest["TableArn"].split(":")[4] == A
    assert tags_of(member["dynamodb"], names[2])["backupd:state"] == "done"
    parameter = SSM.format(table="orders-production")
    assert member["ssm"].get_parameter(Name=parameter)["Parameter"]["Value"] == \
        newest["TableArn"]
    # nothing in the daemon's own account
    assert staging(own["dynamodb"]) == set()
    assert no_parameter(own["ssm"], parameter)
    task = instance.runner.recent[-1]
    assert task.facts["account"] == A
    assert task.subject == f"orders-production@{A}"


def pitr_for_a_day(standin: Any, account: str, table: str) -> None:
    """Pretend PITR has been on for a day (moto starts the window when it is enabled)."""
    backend = dynamodb_backends[account][standin.region]
    desc = backend.tables[table].continuous_backups["PointInTimeRecoveryDescription"]
    desc["EarliestRestorableDateTime"] = unix_time() - 86400


async def test_a_member_table_is_exported_through_its_role_into_the_daemons_bucket(
        daemon: Any, fresh_standin: Any) -> None:
    s3 = boto3_client(fresh_standin, "s3")
    s3.create_bucket(Bucket=BUCKET)
    member = in_account(fresh_standin, A, "dynamodb")
    table = source_table(member, "orders", pitr=True)
    pitr_for_a_day(fresh_standin, A, "orders")
    event = backed_up(member, table, datetime.now(UTC) - timedelta(minutes=30))
    instance = await daemon(org(exports=[{"name": "orders-to-s3", "source_pattern": "^orders$",
                                          "bucket": BUCKET, "prefix": "exports"}]))
    instance.kernel.bus.publish(event)
    await instance.settle()

    assert instance.tasks_total("export", "succeeded") == 1
    [summary] = member.list_exports(TableArn=table)["ExportSummaries"]
    export = member.describe_export(ExportArn=summary["ExportArn"])["ExportDescription"]
    own = boto3_client(fresh_standin, "sts").get_caller_identity()["Account"]
    assert (export["S3Bucket"], export["S3BucketOwner"]) == (BUCKET, own)
    assert boto3_client(fresh_standin, "dynamodb").list_exports(
        TableArn=table.replace(A, own))["ExportSummaries"] == []
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert any(k.startswith("exports/orders/") for k in listed), "data in the central bucket"
    assert any(k.startswith("exports/_backupd/orders-to-s3/done/") for k in listed)
    assert instance.runner.recent[-1].subject == f"orders@{A}"


async def test_a_member_whose_role_is_refused_fails_is_retried_and_holds_up_no_other(
        daemon: Any, fresh_standin: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = {B}
    real = AwsClients.sts

    async def sts(self: AwsClients) -> Any:
        return RefusingSts(await real(self), refused)

    monkeypatch.setattr(AwsClients, "sts", sts)
    member = in_account(fresh_standin, B, "dynamodb")
    own = boto3_client(fresh_standin, "dynamodb")
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    target = f"orders-staging-{at:%Y%m%d-%H-%M-%S}"
    theirs = backed_up(member, source_table(member, "orders-production"), at)
    ours = backed_up(own, source_table(own, "orders-production"), at)
    instance = await daemon(org(restores=[rule(validate=None)],
                                organization={"role_retry_seconds": 1}))
    with capture_logs() as logs:
        instance.kernel.bus.publish(theirs)
        instance.kernel.bus.publish(ours)
        await instance.settle()

    assert staging(own) == {target}, "the own account's restore went on"
    [failed] = [t for t in instance.runner.recent if t.state == "failed"]
    assert failed.subject == f"orders-production@{B}"
    assert f"account {B}: its role {TEMPLATE.format(account=B)} cannot be assumed" in \
        str(failed.detail)
    assert [line["error"] for line in logs if line["event"] == "task.retrying"] == [
        failed.detail]
    assert [r.alert.event for r in instance.kernel.alerts.recent] == ["account.role_failed"]
    assert staging(member) == set()

    refused.clear()  # the role works again: the retry restores in the member account
    assert await wait_until(lambda: instance.tasks_total("restore", "succeeded") == 2)
    await instance.settle()
    assert staging(member) == {target}
    assert staging(own) == {target}


async def test_without_a_role_template_a_member_completion_is_skipped_with_a_reason(
        daemon: Any, fresh_standin: Any) -> None:
    boto3_client(fresh_standin, "s3").create_bucket(Bucket=BUCKET)
    member = in_account(fresh_standin, A, "dynamodb")
    own = boto3_client(fresh_standin, "dynamodb")
    event = backed_up(member, source_table(member, "orders-production"),
                      datetime.now(UTC) - timedelta(hours=1))
    instance = await daemon(settings_with(
        restores=[rule()], exports=[{"name": "copy", "source_pattern": "-production$",
                                     "bucket": BUCKET}]))
    with capture_logs() as logs:
        instance.kernel.bus.publish(event)
        await instance.settle()

    skipped = [line for line in logs if line["event"] in ("restore.skipped", "export.skipped")]
    assert sorted(line["event"] for line in skipped) == ["export.skipped", "restore.skipped"]
    for line in skipped:
        assert line["account"] == A
        assert f"account {A} is not the daemon's own" in line["reason"]
        assert "organization.role_arn_template is unset" in line["reason"]
    assert instance.calls("RestoreTableFromBackup") == 0
    assert instance.calls("ExportTableToPointInTime") == 0
    assert instance.runner.recent == type(instance.runner.recent)([])
    assert staging(own) == staging(member) == set()


async def test_a_member_restore_cut_short_by_a_restart_is_finished_by_the_rescan(
        daemon: Any, fresh_standin: Any) -> None:
    """The rescan covers the member accounts rules list: a copy left `restoring` there is
    found and finished, not restored again."""
    member = {s: in_account(fresh_standin, A, s) for s in ("dynamodb", "ssm")}
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    target = f"orders-staging-{at:%Y%m%d-%H-%M-%S}"
    event = backed_up(member["dynamodb"], source_table(member["dynamodb"], "orders-production"),
                      at)
    settings = org(restores=[rule(accounts=[A])])
    first = await daemon(settings)
    hit = first.interrupt_at("waiting_active")
    first.kernel.bus.publish(event)
    await first.settle()
    assert hit.is_set()
    await halt(first)
    assert tags_of(member["dynamodb"], target)["backupd:state"] == "restoring"

    second = await daemon(settings)
    assert await wait_until(lambda: second.tasks_total("restore", "succeeded"))
    assert tags_of(member["dynamodb"], target)["backupd:state"] == "done"
    assert member["ssm"].get_parameter(Name=SSM.format(table="orders-production"))[
        "Parameter"]["Value"].endswith(f":{A}:table/{target}")
    assert (first.calls("RestoreTableFromBackup"), second.calls("RestoreTableFromBackup")) == (
        1, 0)


async def test_a_scheduled_export_listing_a_member_account_exports_its_tables_there(
        daemon: Any, fresh_standin: Any) -> None:
    boto3_client(fresh_standin, "s3").create_bucket(Bucket=BUCKET)
    member = in_account(fresh_standin, A, "dynamodb")
    own = boto3_client(fresh_standin, "dynamodb")
    theirs = source_table(member, "orders", pitr=True)
    pitr_for_a_day(fresh_standin, A, "orders")
    ours = source_table(own, "orders", pitr=True)
    instance = await daemon(org(exports=[{
        "name": "hourly", "source_pattern": "^orders$", "bucket": BUCKET, "on_backup": False,
        "schedule": "rate(1 hour)", "accounts": [A]}]))
    assert await wait_until(lambda: instance.tasks_total("export", "succeeded"))
    await instance.settle()
    assert len(member.list_exports(TableArn=theirs)["ExportSummaries"]) == 1
    assert own.list_exports(TableArn=ours)["ExportSummaries"] == [], "not listed: not exported"


async def test_an_organizations_member_backup_that_completed_unheard_is_exported_there(
        daemon: Any, fresh_standin: Any, backup_fake: Any) -> None:
    """With an Organization the catch-up lists the members' completed jobs too (ByAccountId
    through cross-account monitoring), and the export runs in the member through its role."""
    boto3_client(fresh_standin, "s3").create_bucket(Bucket=BUCKET)
    member = in_account(fresh_standin, A, "dynamodb")
    table = source_table(member, "orders", pitr=True)
    pitr_for_a_day(fresh_standin, A, "orders")
    job = backup_fake.inject_job(table, "ops", state="COMPLETED")
    assert job.recovery_point_arn.split(":")[4] == A
    instance = await daemon(org(
        organization={"enabled": True}, tasks={"catchup_seconds": 3600},
        exports=[{"name": "orders-to-s3", "source_pattern": "^orders$", "bucket": BUCKET}]))
    assert await wait_until(lambda: instance.tasks_total("export", "succeeded"))
    [summary] = member.list_exports(TableArn=table)["ExportSummaries"]
    assert summary["ExportStatus"] == "COMPLETED"
    assert instance.kernel.metrics.registry.get_sample_value(
        "backupd_tasks_caught_up_total", {"kind": "export"}) == 1


async def test_a_members_completed_job_on_the_central_queue_is_exported_in_the_member(
        aws_env: dict[str, str], fresh_standin: Any, backup_fake: Any, make_queue: Any) -> None:
    """The whole daemon, as `ddb-backupd run` starts it: a member account's AWS Backup job
    completes, its events reach the central queue, and the export runs in the member through
    its role, into the daemon's bucket."""
    s3 = boto3_client(fresh_standin, "s3")
    s3.create_bucket(Bucket=BUCKET)
    member = in_account(fresh_standin, A, "dynamodb")
    table = source_table(member, "orders", pitr=True)
    pitr_for_a_day(fresh_standin, A, "orders")
    queue = make_queue()
    backup_fake.set_event_target(queue)
    settings = org(queue_url=queue, queue={"wait_seconds": 1}, reconcile_seconds=3600,
                   aws={"endpoint_url": aws_env["AWS_ENDPOINT_URL"], "max_attempts": 2},
                   exports=[{"name": "orders-to-s3", "source_pattern": "^orders$",
                             "bucket": BUCKET}])
    ready: asyncio.Future[Daemon] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def on_ready(wired: Daemon) -> None:
        ready.set_result(wired)

    daemon = asyncio.create_task(run_daemon(settings, stop=stop, on_ready=on_ready))
    try:
        wired = await ready
        backup_fake.inject_job(table, "ops", duration=0.2)
        assert await wait_until(lambda: wired.kernel.metrics.registry.get_sample_value(
            "backupd_tasks_total", {"kind": "export", "outcome": "succeeded"}), tries=400)
    finally:
        stop.set()
        assert await daemon == 0
    [summary] = member.list_exports(TableArn=table)["ExportSummaries"]
    assert summary["ExportStatus"] == "COMPLETED"
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert any(k.startswith("exports/_backupd/orders-to-s3/done/") for k in listed)


async def test_a_members_scheduled_backup_is_restored_in_the_member_by_the_whole_daemon(
        aws_env: dict[str, str], fresh_standin: Any) -> None:
    """Scheduling and tasks composed, as `ddb-backupd run` wires them: a schedule listing a
    member backs its table up there through the member's role, publishes the completion
    with the member's table ARN, and the restore rule restores it in the member (validated,
    published to the member's SSM parameter), never in the daemon's own account."""
    member = {s: in_account(fresh_standin, A, s) for s in ("dynamodb", "ssm")}
    own = {s: boto3_client(fresh_standin, s) for s in ("dynamodb", "ssm")}
    source_table(member["dynamodb"], "orders-production")
    settings = org(
        aws={"endpoint_url": aws_env["AWS_ENDPOINT_URL"], "max_attempts": 2},
        reconcile_seconds=3600,
        scheduler={"tick_seconds": 1, "spread_seconds": 0, "api_calls_per_second": 100},
        schedules=[{"name": "members", "expression": "rate(1 minute)",
                    "tables": ["orders-*"], "accounts": [A]}],
        restores=[rule()])
    ready: asyncio.Future[Daemon] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def on_ready(wired: Daemon) -> None:
        ready.set_result(wired)

    daemon = asyncio.create_task(run_daemon(settings, stop=stop, on_ready=on_ready))
    parameter = SSM.format(table="orders-production")
    try:
        await ready
        assert await wait_until(lambda: not no_parameter(member["ssm"], parameter), tries=1200)
    finally:
        stop.set()
        assert await daemon == 0
    (copy,) = staging(member["dynamodb"])
    restored = member["dynamodb"].describe_table(TableName=copy)["Table"]
    assert restored["TableStatus"] == "ACTIVE"
    value = member["ssm"].get_parameter(Name=parameter)["Parameter"]["Value"]
    assert value == restored["TableArn"]
    assert value.split(":")[4] == A
    (backup,) = member["dynamodb"].list_backups(BackupType="USER")["BackupSummaries"]
    assert backup["BackupName"].startswith("backupd-members-")
    assert not staging(own["dynamodb"])
    assert no_parameter(own["ssm"], parameter)
    assert own["dynamodb"].list_backups(BackupType="USER")["BackupSummaries"] == []
