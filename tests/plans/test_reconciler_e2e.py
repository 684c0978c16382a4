"""The plans reconciler against the stand-in over HTTP: create, leave alone, repair, report."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from daemon.app import run_daemon
from daemon.config.settings import Settings
from daemon.obs.metrics import Metrics
from tests.plans.conftest import READS, edit_plan, plan_named, selections_of
from tests.plans.specs import ROLE, plan_spec

pytestmark = pytest.mark.e2e
MANAGED = {"backupd:managed-by": "ddb-backupd", "backupd:plan": "daily"}


async def test_from_nothing_it_creates_the_vault_its_lock_the_plan_and_the_selection(
        reconciler, backup):
    daemon = await reconciler([plan_spec()])
    with capture_logs() as logs:
        [verdict] = await daemon.reconciler.run_once()
    assert verdict.state == "missing"
    vault = backup.describe_backup_vault(BackupVaultName="plans-vault")
    assert (vault["Locked"], vault["MinRetentionDays"], vault["MaxRetentionDays"]) == (
        True, 7, 400)
    assert backup.list_tags(ResourceArn=vault["BackupVaultArn"])["Tags"] == {
        "backupd:managed-by": "ddb-backupd", "backupd:vault": "plans-vault"}
    plan = plan_named(backup, "daily")
    assert plan is not None
    rules = {r["RuleName"]: r for r in plan["BackupPlan"]["Rules"]}
    assert rules["daily"]["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert rules["daily"]["StartWindowMinutes"] == 60
    assert rules["monthly"]["Lifecycle"] == {"MoveToColdStorageAfterDays": 30,
                                             "DeleteAfterDays": 365}
    assert rules["monthly"]["CopyActions"][0]["DestinationBackupVaultArn"].endswith(":dr")
    tags = backup.list_tags(ResourceArn=plan["BackupPlanArn"])["Tags"]
    assert MANAGED.items() <= tags.items()
    assert tags["backupd:config"] == daemon.reconciler.desired[0].fingerprint
    selection = selections_of(backup, plan["BackupPlanId"])["backupd-tables"]
    assert (selection["IamRoleArn"], selection["ListOfTags"]) == (ROLE, [
        {"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "daily"}])
    assert [e["event"] for e in logs if e["event"] != "plan.reconciled"] == [
        "vault.created", "vault.locked", "plan.created", "selection.created"]
    assert daemon.metric("backupd_backup_plan_changes_total", plan="daily",
                         change="create_plan") == 1
    assert daemon.metric("backupd_backup_plan_drift", plan="daily") == 0
    assert daemon.status()["daily"]["plan_id"] == plan["BackupPlanId"]


async def test_when_nothing_changed_a_pass_only_reads(reconciler, backup):
    daemon = await reconciler([plan_spec()])
    await daemon.reconciler.run_once()
    second = await daemon.pass_calls()
    third = await daemon.pass_calls()
    assert set(second) <= READS, second
    # plan versions and selection ids did not change: their documents come from the cache
    assert set(third) == {"ListBackupPlans", "ListTags", "DescribeBackupVault",
                          "ListBackupSelections"}, third
    assert daemon.status()["daily"]["state"] == "in_sync"
    assert daemon.alerts.pending() == 0


async def test_a_plan_edited_in_aws_is_restored_with_one_alert_per_episode(reconciler, backup):
    daemon = await reconciler([plan_spec()])
    await daemon.reconciler.run_once()
    plan_id = plan_named(backup, "daily")["BackupPlanId"]
    edit_plan(backup, plan_id, lambda doc: doc["Rules"][0].update(StartWindowMinutes=240))
    with capture_logs() as logs:
        [verdict] = await daemon.reconciler.run_once()
    assert (verdict.state, verdict.cause) == ("changed", "drift")
    differs = [e for e in logs if e["event"] == "plan.field_differs"]
    assert [(e["field"], e["actual"], e["desired"], e["log_level"]) for e in differs] == [
        ("Rules[daily].StartWindowMinutes", 240, 60, "warning")]
    restored = plan_named(backup, "daily")
    assert restored["BackupPlan"]["Rules"][0]["StartWindowMinutes"] == 60
    assert len(backup.list_backup_plan_versions(BackupPlanId=plan_id)[
        "BackupPlanVersionsList"]) == 3
    assert daemon.metric("backupd_backup_plan_drift", plan="daily") == 1
    assert daemon.alerts.pending() == 1
    assert daemon.status()["daily"]["drifting"] is True
    await daemon.reconciler.run_once()
    assert daemon.metric("backupd_backup_plan_drift", plan="daily") == 0
    assert daemon.alerts.pending() == 1
    assert daemon.status()["daily"]["state"] == "in_sync"
    edit_plan(backup, plan_id, lambda doc: doc["Rules"].pop(1))
    await daemon.reconciler.run_once()
    assert daemon.alerts.pending() == 2
    alert = daemon.alerts.recent[-1].alert
    assert (alert.event, alert.body["fields"]) == ("backup_plan_drift", ["Rules[monthly]"])


async def test_drift_left_in_place_raises_one_alert_while_it_lasts(reconciler, backup):
    await (await reconciler([plan_spec()])).reconciler.run_once()
    edit_plan(backup, plan_named(backup, "daily")["BackupPlanId"],
              lambda doc: doc["Rules"][0].update(ScheduleExpression="cron(0 6 ? * * *)"))
    dry = await reconciler([plan_spec()], apply=False)
    for _ in range(3):
        await dry.reconciler.run_once()
    assert dry.metric("backupd_backup_plan_drift", plan="daily") == 1
    assert dry.alerts.pending() == 1
    assert "dry run" in dry.alerts.recent[0].alert.body["action"]
    rule = plan_named(backup, "daily")["BackupPlan"]["Rules"][0]
    assert rule["ScheduleExpression"] == "cron(0 6 ? * * *)"


async def test_selections_and_the_vault_lock_changed_in_aws_are_restored(reconciler, backup):
    daemon = await reconciler([plan_spec()])
    await daemon.reconciler.run_once()
    plan_id = plan_named(backup, "daily")["BackupPlanId"]
    [listed] = backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]
    backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=listed["SelectionId"])
    backup.put_backup_vault_lock_configuration(BackupVaultName="plans-vault",
                                               MinRetentionDays=1)
    [verdict] = await daemon.reconciler.run_once()
    assert verdict.cause == "drift"
    assert sorted(d.field for d in verdict.differences) == [
        "Selections[backupd-tables]", "Vault.Lock.MaxRetentionDays",
        "Vault.Lock.MinRetentionDays"]
    assert set(selections_of(backup, plan_id)) == {"backupd-tables"}
    vault = backup.describe_backup_vault(BackupVaultName="plans-vault")
    assert (vault["MinRetentionDays"], vault["MaxRetentionDays"]) == (7, 400)
    assert daemon.alerts.pending() == 1


async def test_a_plan_not_created_by_the_daemon_is_never_touched(reconciler, backup, make_vault):
    vault = make_vault("plans-vault")
    theirs = backup.create_backup_plan(BackupPlan={"BackupPlanName": "daily", "Rules": [
        {"RuleName": "hand", "TargetBackupVaultName": vault.name}]},
        BackupPlanTags={"team": "dba"})
    backup.create_backup_selection(BackupPlanId=theirs["BackupPlanId"], BackupSelection={
        "SelectionName": "backupd-tables", "IamRoleArn": ROLE, "Resources": ["*"]})
    daemon = await reconciler([plan_spec()])
    with capture_logs() as logs:
        calls = await daemon.pass_calls()
        await daemon.reconciler.run_once()
    assert set(calls) <= READS, calls
    assert "GetBackupPlan" not in calls  # someone else's plan is not even read
    assert [p["VersionId"] for p in backup.list_backup_plans()["BackupPlansList"]] == [
        theirs["VersionId"]]
    assert backup.list_tags(ResourceArn=theirs["BackupPlanArn"])["Tags"] == {"team": "dba"}
    assert list(selections_of(backup, theirs["BackupPlanId"])) == ["backupd-tables"]
    assert daemon.status()["daily"]["state"] == "conflict"
    conflict = [e for e in logs if e["event"] == "plan.reconciled"]
    assert conflict[0]["log_level"] == "warning"
    assert "without the daemon's tags" in conflict[0]["notes"][0]


async def test_a_selection_someone_adds_to_the_daemons_plan_is_left_alone(reconciler, backup):
    daemon = await reconciler([plan_spec()])
    await daemon.reconciler.run_once()
    plan_id = plan_named(backup, "daily")["BackupPlanId"]
    backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection={
        "SelectionName": "audit-extra", "IamRoleArn": ROLE, "Resources": ["*"]})
    calls = await daemon.pass_calls()
    assert set(calls) <= READS, calls
    assert set(selections_of(backup, plan_id)) == {"backupd-tables", "audit-extra"}


async def test_a_changed_configuration_updates_the_plan_without_a_drift_alert(reconciler,
                                                                              backup):
    await (await reconciler([plan_spec()])).reconciler.run_once()
    rules = [{**plan_spec()["rules"][0], "complete_window_minutes": 1440}]
    selections = [{**plan_spec()["selections"][0], "resources": ["*"]}]
    daemon = await reconciler([plan_spec(rules=rules, selections=selections)])
    [verdict] = await daemon.reconciler.run_once()
    assert (verdict.state, verdict.cause) == ("changed", "configuration")
    plan = plan_named(backup, "daily")
    assert [r["RuleName"] for r in plan["BackupPlan"]["Rules"]] == ["daily"]
    assert plan["BackupPlan"]["Rules"][0]["CompletionWindowMinutes"] == 1440
    assert selections_of(backup, plan["BackupPlanId"])["backupd-tables"]["Resources"] == ["*"]
    tags = backup.list_tags(ResourceArn=plan["BackupPlanArn"])["Tags"]
    assert tags["backupd:config"] == daemon.reconciler.desired[0].fingerprint
    assert daemon.alerts.pending() == 0
    assert daemon.metric("backupd_backup_plan_drift", plan="daily") == 0
    [again] = await daemon.reconciler.run_once()
    assert again.state == "in_sync"


async def test_a_dry_run_writes_nothing(reconciler, backup):
    daemon = await reconciler([plan_spec()], apply=False)
    calls = await daemon.pass_calls()
    assert set(calls) <= READS, calls
    assert backup.list_backup_plans()["BackupPlansList"] == []
    assert daemon.status()["daily"]["steps"] == [
        "create_vault plans-vault", "lock_vault plans-vault", "create_plan daily",
        "create_selection backupd-tables"]


async def test_a_plan_whose_vault_is_missing_waits_and_the_others_go_on(reconciler, backup):
    blocked = plan_spec("weekly", vault={"name": "nowhere"}, selections=[],
                        rules=[{"name": "weekly", "expression": "cron(0 4 ? * SUN *)"}])
    daemon = await reconciler([blocked, plan_spec()])
    verdicts = await daemon.reconciler.run_once()
    assert [v.state for v in verdicts] == ["blocked", "missing"]
    assert plan_named(backup, "daily") is not None
    assert plan_named(backup, "weekly") is None
    assert "nowhere does not exist" in daemon.status()["weekly"]["notes"][0]


async def test_a_failing_plan_is_reported_and_the_others_go_on(reconciler, backup, monkeypatch):
    weekly = plan_spec("weekly", selections=[], rules=[{
        "name": "weekly", "expression": "cron(0 4 ? * SUN *)",
        "lifecycle": {"delete_after_days": 90}}])
    daemon = await reconciler([weekly, plan_spec()])
    calls = daemon.reconciler._calls
    real = calls.create_plan

    async def refuse_weekly(desired):
        if desired.name == "weekly":
            raise RuntimeError("LimitExceededException: too many plans")
        return await real(desired)

    monkeypatch.setattr(calls, "create_plan", refuse_weekly)
    with capture_logs() as logs:
        verdicts = await daemon.reconciler.run_once()
    assert [v.plan for v in verdicts] == ["daily"]
    assert plan_named(backup, "daily") is not None
    assert "too many plans" in daemon.status()["weekly"]["error"]
    assert any(e["event"] == "plan.failed" and e["plan"] == "weekly" for e in logs)
    assert daemon.metric("backupd_backup_plan_reconciles_total", outcome="error") == 1
    monkeypatch.setattr(calls, "create_plan", real)
    await daemon.reconciler.run_once()
    assert plan_named(backup, "weekly") is not None
    assert daemon.metric("backupd_backup_plan_reconciles_total", outcome="ok") == 1


async def test_the_daemon_creates_the_configured_plan_at_start(aws_env, backup):
    settings = Settings(region="us-east-1", backup_plans=[plan_spec()],
                        cloudwatch={"enabled": False}, http={"host": "127.0.0.1", "port": 0})
    stop = asyncio.Event()
    metrics = Metrics(CollectorRegistry())
    daemon = asyncio.create_task(run_daemon(settings, metrics=metrics, stop=stop))
    try:
        await eventually(lambda: plan_named(backup, "daily") is not None)
    finally:
        stop.set()
        await daemon
    assert metrics.registry.get_sample_value("backupd_backup_plan_reconciles_total",
                                             {"outcome": "ok"}) >= 1


async def eventually(check: Callable[[], bool], seconds: float = 20.0) -> None:
    async with asyncio.timeout(seconds):
        while not check():
            await asyncio.sleep(0.1)
