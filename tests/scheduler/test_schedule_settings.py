"""Schedules in the settings: validated field by field, as check-config lists them."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from daemon.config.schedules import SchedulerSettings, ScheduleSpec
from daemon.config.settings import Settings

VALID = {"name": "daily", "expression": "cron(0 5 * * ? *)", "tables": ["orders-*"]}


def errors(**overrides: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        ScheduleSpec(**{**VALID, **overrides})
    return {".".join(map(str, e["loc"])): e["msg"] for e in caught.value.errors()}


def test_a_minimal_schedule_gets_safe_defaults() -> None:
    spec = ScheduleSpec(**VALID)
    assert (spec.timezone, spec.engine, spec.enabled, spec.start_window_minutes) == (
        "UTC", "dynamodb", True, 60)
    assert not spec.retention.has_rules()
    assert spec.selector().selects("orders-eu")


def test_an_invalid_expression_is_reported_on_the_expression_field() -> None:
    found = errors(expression="cron(0 5 * * * *)")
    assert list(found) == ["expression"]
    assert "must be '?'" in found["expression"]


@pytest.mark.parametrize(("expression", "reason"), [
    ("rate( 10 minutes )", "rate(): no spaces inside the parentheses"),
    (" rate(10 minutes)", "no spaces before or after the expression"),
    ("cron( 0 5 * * ? * )", "cron(): no spaces inside the parentheses"),
    ("cron(0 5 * * ? *) ", "no spaces before or after the expression"),
], ids=repr)
def test_whitespace_aws_refuses_is_reported_on_the_expression_field(expression: str,
                                                                    reason: str) -> None:
    """check-config fails on the schedule AWS would refuse, not at the first backup."""
    found = errors(expression=expression)
    assert list(found) == ["expression"]
    assert reason in found["expression"]


def test_an_unknown_time_zone_is_reported_on_the_timezone_field() -> None:
    assert "unknown time zone" in errors(timezone="Mars/Olympus")["timezone"]


@pytest.mark.parametrize("name", ["has space", "-lead", "trail-", "double--dash", "x/y", ""])
def test_schedule_names_must_fit_in_backup_names(name: str) -> None:
    assert "name" in errors(name=name)


def test_a_schedule_must_choose_its_tables() -> None:
    found = errors(tables=[])
    assert any("tables" in message for message in found.values())


def test_the_aws_backup_engine_needs_a_vault_a_role_and_a_60_minute_window() -> None:
    found = " ".join(errors(engine="aws-backup").values())
    assert "backup_vault" in found
    assert "iam_role_arn" in found
    short = errors(engine="aws-backup", backup_vault="v", iam_role_arn="arn:aws:iam::1:role/r",
                   start_window_minutes=30)
    assert "at least 60" in " ".join(short.values())


def test_an_invalid_regex_is_reported_on_its_field() -> None:
    assert "regular expression" in errors(table_regex="(unclosed")["table_regex"]


def test_unknown_keys_are_errors_not_silently_ignored() -> None:
    assert "retention.keep_forever" in errors(retention={"keep_forever": 1})


def test_schedules_load_from_the_environment_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPD_SCHEDULES", '[{"name": "demo", "expression": "rate(1 minute)", '
                       '"tables": ["*"], "retention": {"keep_last": 2}}]')
    monkeypatch.setenv("BACKUPD_SCHEDULER__TICK_SECONDS", "2")
    settings = Settings()
    assert settings.schedules[0].retention.keep_last == 2
    assert settings.scheduler.tick_seconds == 2


def test_scheduler_defaults_leave_admission_at_the_critical_level() -> None:
    assert SchedulerSettings().admission_ratio is None


def test_two_schedules_may_not_share_a_name() -> None:
    with pytest.raises(ValidationError, match="schedule names must be unique: daily"):
        Settings(schedules=[VALID, {**VALID, "expression": "rate(1 hour)"}])


def test_member_accounts_are_twelve_digit_ids_listed_once() -> None:
    assert ScheduleSpec(**VALID, accounts=["222222222222"]).accounts == ["222222222222"]
    assert "not 12-digit AWS account ids: 2222, abc" in errors(accounts=["2222", "abc"])[
        "accounts"]
    assert "listed twice" in errors(accounts=["222222222222", "222222222222"])["accounts"]


def test_an_aws_backup_schedule_with_accounts_names_a_role_of_each_member() -> None:
    member = ["222222222222"]
    found = errors(engine="aws-backup", backup_vault="v", accounts=member,
                   iam_role_arn="arn:aws:iam::123456789012:role/backup")
    assert "not a role of each member account" in found[""]
    assert "arn:aws:iam::{account}:role/NAME" in found[""]
    found = errors(engine="aws-backup", backup_vault="v-{account}",
                   iam_role_arn="arn:aws:iam::{account}:role/backup")
    assert "this schedule lists no accounts" in found[""]
    spec = ScheduleSpec(**{**VALID, "engine": "aws-backup", "accounts": member,
                           "backup_vault": "vault-{account}",
                           "iam_role_arn": "arn:aws:iam::{account}:role/backup"})
    assert spec.for_account("444444444444").vault_and_role() == (
        "vault-444444444444", "arn:aws:iam::444444444444:role/backup")


def test_member_accounts_need_the_role_template() -> None:
    spec = {**VALID, "accounts": ["222222222222"]}
    with pytest.raises(ValidationError, match=r"daily list accounts: set "
                                              r"organization.role_arn_template"):
        Settings(region="us-east-1", schedules=[spec])
    settings = Settings(region="us-east-1", schedules=[spec], organization={
        "role_arn_template": "arn:aws:iam::{account}:role/ddb-backupd-member"})
    assert settings.schedules[0].accounts == ["222222222222"]
