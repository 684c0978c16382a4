"""Export decisions: what a backup or a slot exports, where to, and inside which PITR window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from daemon.core.errors import PermanentError
from daemon.core.tasks.exports import (
    KEY_PRESETS,
    Pitr,
    check_export_time,
    export_token,
    incremental_window,
    key_prefix,
    key_template_problem,
    plan,
    plans_for_backup,
    rds_task_identifier,
)

AT = datetime(2026, 11, 24, 5, 0, 7, tzinfo=UTC)
TABLE = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders"
BACKUP = f"{TABLE}/backup/01764-abc"
DB = "arn:aws:rds:eu-west-1:111122223333:db:billing"
SNAPSHOT = "arn:aws:rds:eu-west-1:111122223333:snapshot:awsbackup:job-1234"


@dataclass
class Rule:
    name: str
    kind: str = "dynamodb"
    source_pattern: str = ".*"
    on_backup: bool = True
    prefix: str = "exports"
    key_template: str = KEY_PRESETS["default"]


def test_objects_go_under_prefix_table_and_utc_date() -> None:
    assert key_prefix("exports", "orders", AT) == "exports/orders/2026/11/24/"
    assert key_prefix("/a/b/", "orders", AT) == "a/b/orders/2026/11/24/"
    assert key_prefix("", "orders", AT) == "orders/2026/11/24/"


def test_the_same_trigger_always_gives_the_same_token() -> None:
    token = export_token("r", TABLE, BACKUP, AT)
    assert token == export_token("r", TABLE, BACKUP, AT.astimezone(UTC))
    assert len(token) == 32
    assert token != export_token("r", TABLE, BACKUP, AT + timedelta(seconds=1))
    assert token != export_token("other", TABLE, BACKUP, AT)


def test_rds_task_identifiers_follow_rds_rules() -> None:
    ident = rds_task_identifier("nightly_billing..x", "a" * 32)
    assert ident.startswith("backupd-nightly-billing-x-")
    assert len(ident) <= 60
    assert "--" not in ident


def test_a_completed_dynamodb_backup_triggers_its_dynamodb_rules_only() -> None:
    rules = [Rule("ddb"), Rule("rds", kind="rds"), Rule("off", on_backup=False),
             Rule("other", source_pattern="^users$")]
    [found] = plans_for_backup(TABLE, BACKUP, AT, "ops", rules)
    assert (found.rule, found.name, found.source, found.vault) == ("ddb", "orders", BACKUP, "ops")
    assert found.key_prefix == "exports/orders/2026/11/24/"


def test_a_completed_rds_snapshot_triggers_rds_rules() -> None:
    [found] = plans_for_backup(DB, SNAPSHOT, AT, "ops", [Rule("ddb"), Rule("rds", kind="rds")])
    assert (found.rule, found.kind, found.name) == ("rds", "rds", "billing")


def test_a_scheduled_export_has_no_source_to_delete() -> None:
    found = plan(Rule("ddb"), TABLE, None, AT, trigger="schedule")
    assert found is not None
    assert found.source is None


def test_a_table_without_pitr_is_an_error_naming_table_and_setting() -> None:
    with pytest.raises(PermanentError, match=r"table orders .*PointInTimeRecoverySpecification"):
        check_export_time("orders", AT, Pitr(enabled=False))


def test_export_time_waits_for_pitr_to_catch_up_and_fails_once_slid_out() -> None:
    window = Pitr(True, AT - timedelta(days=35), AT - timedelta(minutes=5))
    assert check_export_time("orders", AT - timedelta(hours=1), window) == "ok"
    assert check_export_time("orders", AT, window) == "wait"
    with pytest.raises(PermanentError, match="slid out"):
        check_export_time("orders", AT - timedelta(days=36), window)


def test_incremental_windows_continue_from_the_previous_export() -> None:
    window = Pitr(True, AT - timedelta(days=35), AT)
    previous = AT - timedelta(hours=2)
    assert incremental_window("orders", previous, AT, window, 3600) == (previous, AT)
    assert incremental_window("orders", None, AT, window, 3600) == (AT - timedelta(hours=1), AT)


def test_incremental_windows_stay_within_aws_limits() -> None:
    window = Pitr(True, AT - timedelta(days=35), AT)
    start = AT - timedelta(days=3)
    assert incremental_window("orders", start, AT, window, 3600) == (
        start, start + timedelta(hours=24))
    assert incremental_window("orders", AT - timedelta(minutes=5), AT, window, 3600) is None


def test_an_incremental_window_that_slid_out_of_pitr_says_so() -> None:
    window = Pitr(True, AT - timedelta(days=1), AT)
    with pytest.raises(PermanentError, match="slid out; run a full export"):
        incremental_window("orders", AT - timedelta(days=2), AT, window, 3600)


@pytest.mark.parametrize(("template", "job_id", "key"), [
    (KEY_PRESETS["default"], "job-1", "exports/orders/2026/11/24/"),
    (KEY_PRESETS["hive"], "job-1",
     "exports/table=orders/year=2026/month=11/day=24/job=job-1/"),
    (KEY_PRESETS["hive"], None,  # no backup job (a schedule, a native backup): the token
     "exports/table=orders/year=2026/month=11/day=24/job=tok/"),
    ("{account}/{region}/{name}/{yyyy}-{mm}-{dd}", None,
     "111122223333/eu-west-1/orders/2026-11-24/"),
    ("/{prefix}//{name}/", None, "exports/orders/"),
])
def test_export_keys_follow_the_rules_template(template: str, job_id: str | None,
                                               key: str) -> None:
    assert key_prefix("exports", "orders", AT, template=template, resource_arn=TABLE,
                      job_id=job_id, token="tok") == key


def test_an_empty_prefix_leaves_no_empty_segment() -> None:
    assert key_prefix("", "orders", AT, template=KEY_PRESETS["hive"], job_id="j") == \
        "table=orders/year=2026/month=11/day=24/job=j/"


@pytest.mark.parametrize(("template", "problem"), [
    ("{prefix}/{table}/", "unknown part {table}"),
    ("{prefix}/{name!r}/", "unknown part {name!r}"),
    ("{prefix}/{yyyy:04}/", "unknown part {yyyy:04}"),
    ("{prefix}/{}/", "unknown part {}"),
    ("{prefix}/{name", "not a key template"),
])
def test_a_key_template_names_only_known_parts(template: str, problem: str) -> None:
    assert problem in (key_template_problem(template) or "")


def test_a_backup_plan_carries_its_job_id_into_the_key() -> None:
    [found] = plans_for_backup(TABLE, BACKUP, AT, "ops",
                               [Rule("ddb", key_template=KEY_PRESETS["hive"])], job_id="J-1")
    assert found.key_prefix.endswith("/day=24/job=J-1/")
