"""`backup_plans:` settings: AWS's rules checked before anything runs, each error naming its field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.config.load import ConfigError, load_settings
from tests.plans.specs import plan_spec


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for key in list(os.environ):
        if key.upper().startswith("BACKUPD_"):
            monkeypatch.delenv(key)
    return monkeypatch


def errors_of(clean_env: pytest.MonkeyPatch, plans: list[dict[str, Any]]) -> list[str]:
    clean_env.setenv("BACKUPD_BACKUP_PLANS", json.dumps(plans))
    with pytest.raises(ConfigError) as caught:
        load_settings()
    return caught.value.errors


def rule(**changes: Any) -> dict[str, Any]:
    return {**plan_spec()["rules"][0], **changes}


def test_a_valid_plan_loads_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BACKUPD_BACKUP_PLANS", json.dumps([plan_spec()]))
    plan = load_settings().backup_plans[0]
    assert (plan.name, plan.vault.lock and plan.vault.lock.min_retention_days) == ("daily", 7)
    assert [r.name for r in plan.rules] == ["daily", "monthly"]


@pytest.mark.parametrize(("change", "field", "says"), [
    ({"rules": [rule(lifecycle={"move_to_cold_storage_after_days": 30,
                                "delete_after_days": 100})]},
     "backup_plans[0].rules[0].lifecycle.delete_after_days", "at least 90 days"),
    ({"rules": [rule(start_window_minutes=59)]},
     "backup_plans[0].rules[0].start_window_minutes", "greater than or equal to 60"),
    ({"rules": [rule(complete_window_minutes=30)]},
     "backup_plans[0].rules[0].complete_window_minutes", "greater than or equal to 60"),
    ({"rules": [rule(expression="cron(0 5 * * *)")]},
     "backup_plans[0].rules[0].expression", "6 fields"),
    ({"rules": [rule(expression="cron(0/15 * * * ? *)")]},
     "backup_plans[0].rules[0].expression", "at most once an hour"),
    ({"rules": [rule(expression="rate(1 day)")]},
     "backup_plans[0].rules[0].expression", "cron(...) expressions only"),
    ({"rules": [rule(timezone="Mars/Olympus")]},
     "backup_plans[0].rules[0].timezone", "unknown time zone"),
    ({"rules": [rule(continuous_backup=True, lifecycle={"delete_after_days": 40})]},
     "backup_plans[0].rules[0].continuous_backup", "35 or less"),
    ({"rules": [rule(copy_to=[{"destination_vault_arn": "dr"}])]},
     "backup_plans[0].rules[0].copy_to[0].destination_vault_arn", "pattern"),
    ({"rules": [rule(), rule()]}, "backup_plans[0].rules", "unique: daily"),
    ({"rules": []}, "backup_plans[0].rules", "at least 1 item"),
    ({"rules": [rule(lifecycle={"delete_after_days": 3})]},
     "backup_plans[0]", "rules[0].lifecycle.delete_after_days: 3 is below"),
    ({"vault": {"name": "v", "create": True}}, "backup_plans[0].vault.name", "pattern"),
    ({"vault": {"name": "plans-vault", "lock": {"min_retention_days": 1}}},
     "backup_plans[0].vault.lock", "create: true"),
    ({"vault": {"name": "plans-vault", "create": True,
                "lock": {"min_retention_days": 10, "max_retention_days": 5}}},
     "backup_plans[0].vault.lock.max_retention_days", "below min_retention_days"),
    ({"vault": {"name": "plans-vault", "create": True, "lock": {"changeable_for_days": 1}}},
     "backup_plans[0].vault.lock.changeable_for_days", "greater than or equal to 3"),
    ({"selections": [{"name": "s", "iam_role_arn": "arn:aws:iam::123456789012:role/r"}]},
     "backup_plans[0].selections[0]", "resources:"),
    ({"selections": [{"name": "s", "iam_role_arn": "role", "resources": ["*"]}]},
     "backup_plans[0].selections[0].iam_role_arn", "pattern"),
    ({"selections": [{"name": "x" * 43, "iam_role_arn": "arn:aws:iam::123456789012:role/r",
                      "resources": ["*"]}]},
     "backup_plans[0].selections[0].name", "pattern"),
    ({"selections": [{"name": "s", "iam_role_arn": "arn:aws:iam::123456789012:role/r",
                      "resources": [f"arn:aws:dynamodb:*:*:table/t{i}*" for i in range(31)]}]},
     "backup_plans[0].selections[0].resources", "30 when any has a wildcard"),
    ({"name": "no spaces"}, "backup_plans[0].name", "pattern"),
    ({"colour": "red"}, "backup_plans[0].colour", "unknown setting"),
])
def test_each_invalid_plan_names_its_field(clean_env: pytest.MonkeyPatch, change: dict[str, Any],
                                           field: str, says: str) -> None:
    errors = errors_of(clean_env, [plan_spec(**change)])
    assert any(e.startswith(f"{field}: ") and says in e for e in errors), errors
    assert all("BACKUPD_BACKUP_PLANS" in e for e in errors)


def test_plan_names_are_unique_and_shared_vaults_agree(clean_env: pytest.MonkeyPatch) -> None:
    errors = errors_of(clean_env, [plan_spec(), plan_spec()])
    assert any("plan names must be unique: daily" in e for e in errors)
    other = plan_spec("weekly", vault={"name": "plans-vault", "create": False})
    errors = errors_of(clean_env, [plan_spec(), other])
    assert any("vault plans-vault: plans sharing a vault" in e for e in errors)


def test_check_config_exits_2_naming_the_field_from_the_yaml_file(tmp_path: Path) -> None:
    config = tmp_path / "backupd.yaml"
    config.write_text(yaml.safe_dump({"backup_plans": [plan_spec(rules=[rule(
        start_window_minutes=30)])]}))
    env = {"PATH": os.environ["PATH"], "BACKUPD_CONFIG_FILE": str(config)}
    proc = subprocess.run([sys.executable, "-m", "daemon", "check-config"], env=env,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert "backup_plans[0].rules[0].start_window_minutes" in proc.stderr
    assert "config file key" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_config_prints_the_plans(tmp_path: Path) -> None:
    config = tmp_path / "backupd.yaml"
    config.write_text(yaml.safe_dump({"backup_plans": [plan_spec()]}))
    env = {"PATH": os.environ["PATH"], "BACKUPD_CONFIG_FILE": str(config)}
    proc = subprocess.run([sys.executable, "-m", "daemon", "check-config"], env=env,
                          capture_output=True, text=True, check=True)
    plans = json.loads(proc.stdout)["backup_plans"]
    assert plans[0]["rules"][1]["copy_to"][0]["destination_vault_arn"].endswith(":dr")


def test_a_plan_listing_accounts_names_a_role_of_each_member(
        clean_env: pytest.MonkeyPatch) -> None:
    fixed = plan_spec(accounts=["222222222222"])  # its selection names one account's role
    (found,) = errors_of(clean_env, [fixed])
    assert "selections[0].iam_role_arn" in found
    assert "arn:aws:iam::{account}:role/NAME" in found
    templated = plan_spec(selections=[{**plan_spec()["selections"][0],
                                       "iam_role_arn": "arn:aws:iam::{account}:role/b"}])
    (found,) = errors_of(clean_env, [templated])
    assert "this plan lists no accounts" in found
    (found,) = errors_of(clean_env, [{**templated, "accounts": ["222222222222"]}])
    assert "backup_plans daily list accounts: set organization.role_arn_template" in found
    clean_env.setenv("BACKUPD_ORGANIZATION__ROLE_ARN_TEMPLATE",
                     "arn:aws:iam::{account}:role/ddb-backupd-target")
    clean_env.setenv("BACKUPD_BACKUP_PLANS", json.dumps([{**templated,
                                                          "accounts": ["222222222222"]}]))
    plan = load_settings().backup_plans[0].for_account("222222222222")
    assert plan.selections[0].iam_role_arn == "arn:aws:iam::222222222222:role/b"
    assert plan.accounts == []
