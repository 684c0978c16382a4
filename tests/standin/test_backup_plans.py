"""Backup plan versions and selections on the stand-in, through the real aioboto3 client.

moto creates and lists plans; the fake adds what moto lacks: UpdateBackupPlan (validated as
AWS validates it), every version of a plan, selections, and AWS's rule that a plan with
selections cannot be deleted.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.fixtures.standin import boto3_client
from tests.standin.conftest import ROLE

pytestmark = pytest.mark.e2e


def rule(vault: str, **changes: Any) -> dict[str, Any]:
    return {"RuleName": "daily", "TargetBackupVaultName": vault,
            "ScheduleExpression": "cron(0 5 ? * * *)", "Lifecycle": {"DeleteAfterDays": 35},
            **changes}


async def new_plan(backup: Any, vault: str, name: str = "plan") -> dict[str, Any]:
    return dict(await backup.create_backup_plan(
        BackupPlan={"BackupPlanName": name, "Rules": [rule(vault)]},
        BackupPlanTags={"owner": "test"}))


def code(caught: pytest.ExceptionInfo[ClientError]) -> str:
    return str(caught.value.response["Error"]["Code"])


async def test_an_update_makes_a_new_version_and_keeps_the_old_one(aws, make_vault):
    backup, vault = aws["backup"], make_vault()
    created = await new_plan(backup, vault.name)
    plan_id, first = created["BackupPlanId"], created["VersionId"]
    updated = await backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan={
        "BackupPlanName": "plan", "Rules": [rule(vault.name, StartWindowMinutes=120),
                                            rule(vault.name, RuleName="weekly")]})
    second = updated["VersionId"]
    assert second != first
    assert len(second) == 48
    assert updated["BackupPlanArn"] == created["BackupPlanArn"]
    current = await backup.get_backup_plan(BackupPlanId=plan_id)
    assert current["VersionId"] == second
    assert [r["StartWindowMinutes"] for r in current["BackupPlan"]["Rules"]] == [120, 480]
    old = await backup.get_backup_plan(BackupPlanId=plan_id, VersionId=first)
    assert [r["RuleName"] for r in old["BackupPlan"]["Rules"]] == ["daily"]
    listed = (await backup.list_backup_plans())["BackupPlansList"]
    assert [(p["BackupPlanId"], p["VersionId"]) for p in listed] == [(plan_id, second)]
    versions = (await backup.list_backup_plan_versions(BackupPlanId=plan_id))
    assert [v["VersionId"] for v in versions["BackupPlanVersionsList"]] == [second, first]


async def test_an_update_fills_aws_defaults_and_keeps_rule_ids_by_name(aws, make_vault):
    backup, vault = aws["backup"], make_vault()
    plan_id = (await new_plan(backup, vault.name))["BackupPlanId"]
    before = (await backup.get_backup_plan(BackupPlanId=plan_id))["BackupPlan"]["Rules"][0]
    await backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan={
        "BackupPlanName": "plan", "Rules": [{"RuleName": "daily",
                                             "TargetBackupVaultName": vault.name}]})
    after = (await backup.get_backup_plan(BackupPlanId=plan_id))["BackupPlan"]["Rules"][0]
    assert after["RuleId"] == before["RuleId"]
    assert (after["ScheduleExpression"], after["StartWindowMinutes"],
            after["CompletionWindowMinutes"], after["ScheduleExpressionTimezone"]) == (
        "cron(0 5 ? * * *)", 480, 10080, "Etc/UTC")


@pytest.mark.parametrize(("changes", "expected"), [
    ({"StartWindowMinutes": 59}, "InvalidParameterValueException"),
    ({"Lifecycle": {"MoveToColdStorageAfterDays": 30, "DeleteAfterDays": 100}},
     "InvalidParameterValueException"),
    ({"ScheduleExpression": "rate(1 day)"}, "InvalidParameterValueException"),
    ({"ScheduleExpression": "cron(0 5 * * *)"}, "InvalidParameterValueException"),
    ({"ScheduleExpressionTimezone": "Mars/Olympus"}, "InvalidParameterValueException"),
    ({"TargetBackupVaultName": "no-such-vault"}, "InvalidParameterValueException"),
    ({"EnableContinuousBackup": True, "Lifecycle": {"DeleteAfterDays": 36}},
     "InvalidParameterValueException"),
    ({"CopyActions": [{"DestinationBackupVaultArn": "dr"}]}, "InvalidParameterValueException"),
    ({"RuleName": "no spaces"}, "InvalidParameterValueException"),
], ids=["start-window", "cold-storage", "rate", "bad-cron", "zone", "vault", "continuous",
        "copy-arn", "rule-name"])
async def test_an_invalid_update_is_refused_as_aws_refuses_it(aws, make_vault, changes, expected):
    backup, vault = aws["backup"], make_vault()
    plan_id = (await new_plan(backup, vault.name))["BackupPlanId"]
    with pytest.raises(ClientError) as caught:
        await backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan={
            "BackupPlanName": "plan", "Rules": [rule(vault.name, **changes)]})
    assert code(caught) == expected
    assert len((await backup.list_backup_plan_versions(BackupPlanId=plan_id))[
        "BackupPlanVersionsList"]) == 1


async def test_unknown_plans_and_versions_are_not_found(aws, make_vault):
    backup, vault = aws["backup"], make_vault()
    with pytest.raises(ClientError) as caught:
        await backup.update_backup_plan(BackupPlanId="nope", BackupPlan={
            "BackupPlanName": "plan", "Rules": [rule(vault.name)]})
    assert code(caught) == "ResourceNotFoundException"
    plan_id = (await new_plan(backup, vault.name))["BackupPlanId"]
    with pytest.raises(ClientError) as caught:
        await backup.get_backup_plan(BackupPlanId=plan_id, VersionId="not-a-version")
    assert code(caught) == "ResourceNotFoundException"


def selection(name: str = "tables", **changes: Any) -> dict[str, Any]:
    return {"SelectionName": name, "IamRoleArn": ROLE,
            "Resources": ["arn:aws:dynamodb:*:*:table/orders-*"], **changes}


async def test_selections_are_created_read_listed_and_deleted(aws, make_vault):
    backup, vault = aws["backup"], make_vault()
    plan_id = (await new_plan(backup, vault.name))["BackupPlanId"]
    created = await backup.create_backup_selection(BackupPlanId=plan_id,
                                                   BackupSelection=selection())
    assert created["BackupPlanId"] == plan_id
    got = await backup.get_backup_selection(BackupPlanId=plan_id,
                                            SelectionId=created["SelectionId"])
    assert got["BackupSelection"] == {
        **selection(), "NotResources": [], "ListOfTags": [],
        "Conditions": {"StringEquals": [], "StringNotEquals": [], "StringLike": [],
                       "StringNotLike": []}}
    listed = (await backup.list_backup_selections(BackupPlanId=plan_id))["BackupSelectionsList"]
    assert [(s["SelectionId"], s["SelectionName"], s["IamRoleArn"]) for s in listed] == [
        (created["SelectionId"], "tables", ROLE)]
    await backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=created["SelectionId"])
    assert (await backup.list_backup_selections(BackupPlanId=plan_id))[
        "BackupSelectionsList"] == []
    with pytest.raises(ClientError) as caught:
        await backup.get_backup_selection(BackupPlanId=plan_id,
                                          SelectionId=created["SelectionId"])
    assert code(caught) == "ResourceNotFoundException"


async def test_selections_keep_tags_and_conditions_as_sent(aws, make_vault):
    backup, vault = aws["backup"], make_vault()
    plan_id = (await new_plan(backup, vault.name))["BackupPlanId"]
    sent = selection(ListOfTags=[{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup",
                                  "ConditionValue": "daily"}],
                     Conditions={"StringLike": [{"ConditionKey": "aws:ResourceTag/env",
                                                 "ConditionValue": "prod*"}]})
    created = await backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=sent)
    got = (await backup.get_backup_selection(BackupPlanId=plan_id,
                                             SelectionId=created["SelectionId"]))
    assert got["BackupSelection"]["ListOfTags"] == sent["ListOfTags"]
    assert got["BackupSelection"]["Conditions"]["StringLike"] == sent["Conditions"]["StringLike"]


async def test_a_selection_name_is_unique_in_its_plan_and_a_request_id_repeats_it(aws, make_vault):
    backup, vault = aws["backup"], make_vault()
    plan_id = (await new_plan(backup, vault.name))["BackupPlanId"]
    first = await backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection(),
                                                 CreatorRequestId="req-1")
    again = await backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection(),
                                                 CreatorRequestId="req-1")
    assert again["SelectionId"] == first["SelectionId"]
    with pytest.raises(ClientError) as caught:
        await backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection())
    assert code(caught) == "AlreadyExistsException"


@pytest.mark.parametrize(("sent", "expected"), [
    (selection(IamRoleArn="role"), "InvalidParameterValueException"),
    (selection(SelectionName="no spaces"), "InvalidParameterValueException"),
    (selection(Resources=[f"arn:aws:dynamodb:*:*:table/t{i}*" for i in range(31)]),
     "InvalidParameterValueException"),
    (selection(ListOfTags=[{"ConditionType": "STRINGLIKE", "ConditionKey": "k",
                            "ConditionValue": "v"}]), "InvalidParameterValueException"),
])
async def test_an_invalid_selection_is_refused(aws, make_vault, sent, expected):
    backup, vault = aws["backup"], make_vault()
    plan_id = (await new_plan(backup, vault.name))["BackupPlanId"]
    with pytest.raises(ClientError) as caught:
        await backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=sent)
    assert code(caught) == expected


async def test_a_selection_needs_a_live_plan(aws):
    with pytest.raises(ClientError) as caught:
        await aws["backup"].create_backup_selection(BackupPlanId="nope",
                                                    BackupSelection=selection())
    assert code(caught) == "InvalidParameterValueException"


async def test_selections_are_paginated(aws, make_vault):
    backup, vault = aws["backup"], make_vault()
    plan_id = (await new_plan(backup, vault.name))["BackupPlanId"]
    for i in range(5):
        await backup.create_backup_selection(BackupPlanId=plan_id,
                                             BackupSelection=selection(f"s{i}"))
    pages = backup.get_paginator("list_backup_selections").paginate(
        BackupPlanId=plan_id, PaginationConfig={"PageSize": 2})
    names = [s["SelectionName"] async for page in pages for s in page["BackupSelectionsList"]]
    assert names == [f"s{i}" for i in range(5)]


async def test_a_plan_with_selections_cannot_be_deleted(aws, make_vault):
    backup, vault = aws["backup"], make_vault()
    plan_id = (await new_plan(backup, vault.name))["BackupPlanId"]
    made = await backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection())
    with pytest.raises(ClientError) as caught:
        await backup.delete_backup_plan(BackupPlanId=plan_id)
    assert code(caught) == "InvalidRequestException"
    await backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=made["SelectionId"])
    deleted = await backup.delete_backup_plan(BackupPlanId=plan_id)
    assert deleted["DeletionDate"]
    assert (await backup.list_backup_plans())["BackupPlansList"] == []
    assert (await backup.get_backup_plan(BackupPlanId=plan_id))["DeletionDate"]
    with pytest.raises(ClientError) as caught:
        await backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan={
            "BackupPlanName": "plan", "Rules": [rule(vault.name)]})
    assert code(caught) == "ResourceNotFoundException"


def test_a_reset_forgets_versions_and_selections(fresh_standin, make_vault):
    backup, vault = boto3_client(fresh_standin, "backup"), make_vault()
    plan_id = backup.create_backup_plan(BackupPlan={"BackupPlanName": "p", "Rules": [
        rule(vault.name)]})["BackupPlanId"]
    backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection())
    fresh_standin.reset()
    assert fresh_standin.backup.store.selections == {}
    assert fresh_standin.backup.store.plan_versions == {}
