"""Restore and export rules are checked at load time, each problem on its own field."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pydantic import ValidationError

from daemon.config.settings import Settings
from daemon.config.tasks import ExportRule, RestoreRule


def errors(model: type, data: dict) -> dict[str, str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return {".".join(str(p) for p in e["loc"]): e["msg"] for e in info.value.errors()}


def test_the_designs_example_rule_loads_from_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKUPD_RESTORES", '[{"name":"staging","source_pattern":"(?i)-production$",'
                       '"replacement":"-staging","ssm_parameter":"/staging/orders-table-arn",'
                       '"keep_last":2,"validate":{"min_items":1,"sample_reads":3}}]')
    [rule] = Settings().restores
    assert (rule.keep_last, rule.ssm_parameter) == (2, "/staging/orders-table-arn")
    assert rule.validation is not None
    assert rule.validation.sample_reads == 3


def test_a_rule_that_can_produce_an_invalid_name_is_rejected_on_its_field() -> None:
    found = errors(RestoreRule, {"name": "r", "source_pattern": "(.*)-prod",
                                 "replacement": "$1x/qa"})
    assert set(found) == {"replacement"}
    assert "${1}x" in found["replacement"]
    assert "'/'" in found["replacement"]


def test_an_invalid_pattern_is_reported_once_on_source_pattern() -> None:
    found = errors(RestoreRule, {"name": "r", "source_pattern": "(", "replacement": "x"})
    assert set(found) == {"source_pattern"}


def test_table_settings_are_consistent() -> None:
    found = errors(RestoreRule, {"name": "r", "source_pattern": "x", "replacement": "y",
                                 "table_settings": {"billing_mode": "PROVISIONED"}})
    assert set(found) == {"table_settings.write_capacity_units"}
    found = errors(RestoreRule, {"name": "r", "source_pattern": "x", "replacement": "y",
                                 "table_settings": {"kms_key_id": "k"}})
    assert set(found) == {"table_settings.kms_key_id"}


def test_rds_export_rules_need_a_role_and_a_key() -> None:
    found = errors(ExportRule, {"name": "e", "kind": "rds", "source_pattern": ".*",
                                "bucket": "bkt"})
    assert set(found) == {"iam_role_arn", "kms_key_id"}


def test_an_export_rule_that_never_runs_is_rejected() -> None:
    found = errors(ExportRule, {"name": "e", "source_pattern": ".*", "bucket": "bkt",
                                "on_backup": False})
    assert set(found) == {"schedule"}


def test_unknown_keys_are_errors_not_silently_ignored() -> None:
    found = errors(RestoreRule, {"name": "r", "source_pattern": "x", "replacement": "y",
                                 "keep": 3})
    assert set(found) == {"keep"}


def test_an_export_schedule_uses_the_backup_schedule_syntax() -> None:
    rule = ExportRule.model_validate({"name": "e", "source_pattern": ".*", "bucket": "bkt",
                                      "schedule": "cron(0 5 * * ? *)", "on_backup": False})
    assert rule.schedule == "cron(0 5 * * ? *)"
    found = errors(ExportRule, {"name": "e", "source_pattern": ".*", "bucket": "bkt",
                                "schedule": "cron(nonsense)"})
    assert set(found) == {"schedule"}


def test_two_rules_may_not_share_a_name() -> None:
    rule = {"name": "staging", "source_pattern": "x", "replacement": "y"}
    found = errors(Settings, {"restores": [rule, rule]})
    assert set(found) == {"restores"}
    assert "staging" in found["restores"]


def test_deleting_the_source_needs_vaults() -> None:
    """Without vaults a completed backup in any vault could be exported and then deleted."""
    rule = {"name": "x", "source_pattern": ".*", "bucket": "bkt",
            "delete_source_on_success": True}
    found = errors(ExportRule, rule)
    assert "delete_source_on_success needs vaults" in found["delete_source_on_success"]
    assert ExportRule.model_validate({**rule, "vaults": ["ops"]}).vaults == ["ops"]


@pytest.mark.parametrize("model", [ExportRule, RestoreRule])
def test_vaults_and_accounts_are_checked_on_their_fields(model: type) -> None:
    rule = {"name": "x", "source_pattern": ".*",
            "vaults": ["ops", "arn:aws:backup:eu-west-1:111122223333:backup-vault:prod",
                       "no spaces"], "accounts": ["1234"],
            **({"replacement": "$0-copy"} if model is RestoreRule else {"bucket": "bkt"})}
    found = errors(model, rule)
    assert set(found) == {"vaults.2", "accounts.0"}


def test_rotation_can_be_switched_off() -> None:
    rule = {"name": "r", "source_pattern": "-prod$", "replacement": "-qa"}
    assert RestoreRule.model_validate({**rule, "keep_last": None}).keep_last is None
    assert RestoreRule.model_validate(rule).keep_last == 2
    assert "keep_last" in errors(RestoreRule, {**rule, "keep_last": 0})


def test_check_config_refuses_a_deleting_export_without_vaults_and_exits_2() -> None:
    env = {"PATH": "/usr/bin", "BACKUPD_EXPORTS": json.dumps([{
        "name": "x", "source_pattern": ".*", "bucket": "bkt",
        "delete_source_on_success": True}])}
    done = subprocess.run([sys.executable, "-m", "daemon", "check-config"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert "delete_source_on_success" in done.stderr
    assert "needs vaults" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_export_key_template_is_checked_and_the_hive_preset_named() -> None:
    rule = {"name": "x", "source_pattern": ".*", "bucket": "bkt"}
    assert "unknown part {table}" in errors(
        ExportRule, {**rule, "s3_key_template": "{prefix}/{table}/"})["s3_key_template"]
    assert "s3_key_preset" in errors(ExportRule, {**rule, "s3_key_preset": "athena"})
    hive = ExportRule.model_validate({**rule, "s3_key_preset": "hive"})
    assert hive.key_template == "{prefix}/table={name}/year={yyyy}/month={mm}/day={dd}/job={job_id}/"
    assert ExportRule.model_validate(rule).key_template == "{prefix}/{name}/{yyyy}/{mm}/{dd}/"


@pytest.mark.parametrize("kind", ["restores", "exports"])
def test_a_rule_listing_several_accounts_needs_the_member_role_template(kind: str) -> None:
    """Without roles the daemon acts in its own account only: of two accounts, at least one
    is another; one account may be the own one (check-config does not ask AWS which)."""
    rule = {"name": "r", "source_pattern": "-prod$",
            **({"replacement": "-qa"} if kind == "restores" else {"bucket": "bkt"})}
    two = {**rule, "accounts": ["111122223333", "444455556666"]}
    with pytest.raises(ValidationError) as info:
        Settings(**{kind: [two]})
    assert "rules r list several accounts: set organization.role_arn_template" in str(info.value)
    assert Settings(**{kind: [{**rule, "accounts": ["111122223333"]}]})
    assert Settings(**{kind: [two]}, organization={
        "role_arn_template": "arn:aws:iam::{account}:role/ddb-backupd-target"})
