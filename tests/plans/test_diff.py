"""Desired against actual: what AWS fills in is no difference; every real one is named."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.config.settings import Settings
from daemon.core.plans.desired import VaultLock, desired_plan
from daemon.core.plans.diff import (
    Difference,
    LockState,
    lock_differences,
    plan_differences,
    selection_differences,
)
from daemon.core.plans.wire import (
    BackupPlanDocument,
    BackupRule,
    BackupSelectionDocument,
    ConditionParameter,
    Conditions,
    CopyAction,
    Lifecycle,
    TagCondition,
)
from tests.plans.specs import plan_spec

DESIRED = desired_plan(Settings(backup_plans=[plan_spec()]).backup_plans[0])


def edited(document: BackupPlanDocument, rule: int = 0, **changes: Any) -> BackupPlanDocument:
    rules = list(document.rules)
    rules[rule] = rules[rule].model_copy(update=changes)
    return document.model_copy(update={"rules": tuple(rules)})


def test_the_configured_plan_as_aws_answers_it_has_no_differences() -> None:
    """GetBackupPlan adds a RuleId to every rule and need not keep their order."""
    answer = DESIRED.document.request()
    answer["Rules"] = [{**rule, "RuleId": f"id-{i}"}
                       for i, rule in enumerate(reversed(answer["Rules"]))]
    assert plan_differences(DESIRED.document, BackupPlanDocument.model_validate(answer)) == []


RULE = BackupRule(rule_name="r", target_vault="v", schedule_expression="cron(0 5 ? * * *)",
                  timezone="UTC", start_window_minutes=480, completion_window_minutes=10080)


@pytest.mark.parametrize(("desired", "actual"), [
    (RULE, RULE.model_copy(update={"timezone": "Etc/UTC"})),
    (RULE, RULE.model_copy(update={"timezone": None})),
    (RULE, RULE.model_copy(update={"schedule_expression": None, "start_window_minutes": None,
                                   "completion_window_minutes": None})),
    (RULE, RULE.model_copy(update={"lifecycle": Lifecycle()})),
    (RULE, RULE.model_copy(update={"lifecycle": Lifecycle(delete_after_days=-1,
                                                          move_to_cold_storage_after_days=-1)})),
    (RULE, RULE.model_copy(update={"lifecycle": Lifecycle(opt_in_to_archive=False)})),
    (RULE, RULE.model_copy(update={"recovery_point_tags": {}, "copy_actions": ()})),
    (RULE, RULE.model_copy(update={"continuous_backup": False, "rule_id": "abc"})),
], ids=["UTC-alias", "zone-unset", "aws-defaults", "empty-lifecycle", "minus-one-is-never",
        "archive-false", "empty-tags-and-copies", "false-and-rule-id"])
def test_what_aws_fills_in_is_no_difference(desired: BackupRule, actual: BackupRule) -> None:
    one = BackupPlanDocument(name="p", rules=(desired,))
    other = BackupPlanDocument(name="p", rules=(actual,))
    assert plan_differences(one, other) == []


@pytest.mark.parametrize(("changes", "field", "actual", "desired"), [
    ({"schedule_expression": "cron(0 6 ? * * *)"}, "Rules[daily].ScheduleExpression",
     "cron(0 6 ? * * *)", "cron(0 5 ? * * *)"),
    ({"timezone": "UTC"}, "Rules[daily].ScheduleExpressionTimezone", "Etc/UTC", "Europe/Paris"),
    ({"start_window_minutes": 120}, "Rules[daily].StartWindowMinutes", 120, 60),
    ({"completion_window_minutes": 10080}, "Rules[daily].CompletionWindowMinutes", 10080, 720),
    ({"lifecycle": Lifecycle(delete_after_days=7)}, "Rules[daily].Lifecycle.DeleteAfterDays",
     7, 35),
    ({"lifecycle": Lifecycle(delete_after_days=35, move_to_cold_storage_after_days=1)},
     "Rules[daily].Lifecycle.MoveToColdStorageAfterDays", 1, None),
    ({"recovery_point_tags": None}, "Rules[daily].RecoveryPointTags", None, {"made-by": "plan"}),
    ({"continuous_backup": True}, "Rules[daily].EnableContinuousBackup", True, False),
    ({"target_vault": "other"}, "Rules[daily].TargetBackupVaultName", "other", "plans-vault"),
])
def test_each_changed_rule_field_is_named(changes: dict[str, Any], field: str, actual: Any,
                                          desired: Any) -> None:
    assert plan_differences(DESIRED.document, edited(DESIRED.document, 0, **changes)) == [
        Difference(field, actual, desired)]


def test_copy_actions_are_keyed_by_destination() -> None:
    moved = CopyAction(destination_vault_arn="arn:aws:backup:eu-west-1:123456789012:backup-vault:x")
    diffs = plan_differences(DESIRED.document, edited(DESIRED.document, 1, copy_actions=(moved,)))
    assert sorted(d.field for d in diffs) == [
        "Rules[monthly].CopyActions[arn:aws:backup:eu-west-1:123456789012:backup-vault:dr]",
        "Rules[monthly].CopyActions[arn:aws:backup:eu-west-1:123456789012:backup-vault:x]"]


def test_a_rule_added_or_removed_in_aws_is_one_difference() -> None:
    extra = RULE.model_copy(update={"rule_name": "hourly"})
    added = DESIRED.document.model_copy(update={"rules": (*DESIRED.document.rules, extra)})
    [diff] = plan_differences(DESIRED.document, added)
    assert (diff.field, diff.desired) == ("Rules[hourly]", None)
    removed = DESIRED.document.model_copy(update={"rules": DESIRED.document.rules[:1]})
    [diff] = plan_differences(DESIRED.document, removed)
    assert (diff.field, diff.actual) == ("Rules[monthly]", None)


SELECTION = DESIRED.selections[0]


def test_a_selection_as_aws_answers_it_has_no_differences() -> None:
    """GetBackupSelection fills empty lists and an empty Conditions; order is AWS's."""
    conditions = SELECTION.conditions
    assert conditions is not None
    aws = BackupSelectionDocument.model_validate({
        **SELECTION.request(), "ListOfTags": [t.request() for t in SELECTION.list_of_tags or ()],
        "Resources": list(reversed(SELECTION.resources or ())),
        "Conditions": {"StringEquals": [], "StringNotEquals": [], "StringNotLike": [],
                       "StringLike": [p.request() for p in conditions.string_like or ()]}})
    assert selection_differences(SELECTION, aws) == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"iam_role_arn": "arn:aws:iam::123456789012:role/other"}, "IamRoleArn"),
    ({"resources": ("*",)}, "Resources"),
    ({"not_resources": None}, "NotResources"),
    ({"list_of_tags": (TagCondition(key="backup", value="weekly"),)}, "ListOfTags"),
    ({"conditions": Conditions(string_like=(ConditionParameter(key="aws:ResourceTag/env",
                                                               value="dev*"),))},
     "Conditions.StringLike"),
    ({"conditions": None}, "Conditions.StringLike"),
])
def test_each_changed_selection_field_is_named(changes: dict[str, Any], field: str) -> None:
    [diff] = selection_differences(SELECTION, SELECTION.model_copy(update=changes))
    assert diff.field == f"Selections[backupd-tables].{field}"


@pytest.mark.parametrize(("actual", "fields"), [
    (LockState(7, 400, compliance_mode=False), []),
    (None, ["Vault.Lock.ComplianceMode", "Vault.Lock.MaxRetentionDays",
            "Vault.Lock.MinRetentionDays"]),
    (LockState(1, 400, compliance_mode=False), ["Vault.Lock.MinRetentionDays"]),
    (LockState(7, None, compliance_mode=False), ["Vault.Lock.MaxRetentionDays"]),
    (LockState(7, 400, compliance_mode=True), ["Vault.Lock.ComplianceMode"]),
])
def test_vault_lock_differences(actual: LockState | None, fields: list[str]) -> None:
    desired = VaultLock(7, 400, None)
    assert [d.field for d in lock_differences(desired, actual)] == fields


# -- properties ------------------------------------------------------------------------------
def model(cls: Any) -> Any:
    """A builder by field name (hypothesis would otherwise also fill pydantic's aliases)."""
    return lambda **fields: cls(**fields)  # noqa: PLW0108 - hides the signature, on purpose


names = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
days = st.one_of(st.none(), st.integers(1, 36500))
lifecycles = st.one_of(st.none(), st.builds(
    model(Lifecycle), move_to_cold_storage_after_days=days, delete_after_days=days,
    opt_in_to_archive=st.one_of(st.none(), st.booleans())))
copies = st.builds(model(CopyAction), lifecycle=lifecycles,
                   destination_vault_arn=names.map(lambda n: f"arn:aws:backup:r:1:v:{n}"))
rules = st.builds(
    model(BackupRule), rule_name=names, target_vault=names,
    schedule_expression=st.sampled_from([None, "cron(0 5 ? * * *)", "cron(0 */6 * * ? *)"]),
    timezone=st.sampled_from([None, "UTC", "Etc/UTC", "Europe/Paris", "America/New_York"]),
    start_window_minutes=st.one_of(st.none(), st.integers(60, 10000)),
    completion_window_minutes=st.one_of(st.none(), st.integers(60, 100000)),
    lifecycle=lifecycles,
    recovery_point_tags=st.one_of(st.none(), st.dictionaries(names, names, max_size=3)),
    copy_actions=st.one_of(st.none(), st.lists(
        copies, max_size=2, unique_by=lambda c: c.destination_vault_arn).map(tuple)),
    continuous_backup=st.one_of(st.none(), st.booleans()))
documents = st.builds(model(BackupPlanDocument), name=names, rules=st.lists(
    rules, min_size=1, max_size=4, unique_by=lambda r: r.rule_name).map(tuple))


@given(documents, st.randoms(use_true_random=False))
def test_a_document_never_differs_from_itself_in_any_order(document: BackupPlanDocument,
                                                           rng: Any) -> None:
    shuffled = list(document.rules)
    rng.shuffle(shuffled)
    with_ids = tuple(r.model_copy(update={"rule_id": str(i)}) for i, r in enumerate(shuffled))
    assert plan_differences(document, document.model_copy(update={"rules": with_ids})) == []


@given(documents, documents)
def test_differences_are_symmetric_and_empty_only_for_equal_views(
        one: BackupPlanDocument, other: BackupPlanDocument) -> None:
    forth = plan_differences(one, other)
    back = plan_differences(other, one)
    assert [(d.field, d.actual, d.desired) for d in forth] == [
        (d.field, d.desired, d.actual) for d in back]
    assert len({d.field for d in forth}) == len(forth)


@given(documents, st.integers(1, 36500))
def test_changing_one_retention_is_exactly_one_named_difference(
        document: BackupPlanDocument, delete_after: int) -> None:
    rule = document.rules[0]
    old = rule.lifecycle.delete_after_days if rule.lifecycle else None
    if old == delete_after:
        return
    lifecycle = (rule.lifecycle or Lifecycle()).model_copy(
        update={"delete_after_days": delete_after})
    changed = edited(document, 0, lifecycle=lifecycle)
    assert plan_differences(document, changed) == [
        Difference(f"Rules[{rule.rule_name}].Lifecycle.DeleteAfterDays", delete_after, old)]
