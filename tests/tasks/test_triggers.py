"""Trigger decisions: which rules a completed backup starts, and de-duplication from AWS state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from daemon.core.rotation import RestoredCopy, copy_tags
from daemon.core.triggers import (
    adoptable,
    dedupe,
    dynamodb_table,
    looks_restored,
    plan_restores,
    rds_identifier,
    recovery_point_kind,
    suffix_time,
)

AT = datetime(2026, 11, 24, 5, 0, 7, tzinfo=UTC)
NATIVE = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-production/backup/01764-abc"
VAULTED = "arn:aws:backup:eu-west-1:111122223333:recovery-point:5d3f-4a1b"
TARGET = "orders-staging-20261124-05-00-07"


@dataclass
class Rule:
    name: str
    source_pattern: str
    replacement: str


STAGING = Rule("staging", "(?i)-production$", "-staging")


@pytest.mark.parametrize(("arn", "kind"), [
    (NATIVE, "dynamodb-backup"),
    (VAULTED, "aws-backup"),
    ("arn:aws:rds:eu-west-1:1:snapshot:awsbackup:job-1", "rds-snapshot"),
    ("arn:aws:rds:eu-west-1:1:cluster-snapshot:nightly", "rds-cluster-snapshot"),
    ("arn:aws:dynamodb:eu-west-1:1:table/orders", "unknown"),
    ("not an arn", "unknown"),
])
def test_recovery_point_kind_is_read_from_the_arn(arn: str, kind: str) -> None:
    assert recovery_point_kind(arn) == kind


def test_resource_names_are_read_from_arns() -> None:
    assert dynamodb_table("arn:aws:dynamodb:r:1:table/orders") == "orders"
    assert dynamodb_table(NATIVE) == "orders-production"
    assert rds_identifier("arn:aws:rds:r:1:db:billing") == "billing"
    assert rds_identifier("arn:aws:rds:r:1:cluster:ledger") == "ledger"
    assert rds_identifier("arn:aws:dynamodb:r:1:table/orders") is None


def test_a_native_backup_is_restored_with_restore_table_from_backup() -> None:
    [decision] = plan_restores("orders-production", NATIVE, AT, [STAGING])
    assert decision.action == "start"
    assert decision.plan is not None
    assert (decision.plan.target, decision.plan.engine) == (TARGET, "native")


def test_an_aws_backup_recovery_point_is_restored_with_a_restore_job() -> None:
    [decision] = plan_restores("orders-production", VAULTED, AT, [STAGING])
    assert decision.plan is not None
    assert decision.plan.engine == "aws-backup"


def test_rules_whose_pattern_does_not_match_are_not_triggered() -> None:
    assert plan_restores("orders-dev", NATIVE, AT, [STAGING]) == []


def test_a_name_that_comes_out_invalid_is_reported_not_raised() -> None:
    rule = Rule("long", "$", "x" * 240)
    [decision] = plan_restores("orders-production", NATIVE, AT, [rule])
    assert decision.action == "invalid"
    assert "255" in decision.reason


def tagged(state: str, backup: str = NATIVE, rule: str = "staging") -> RestoredCopy:
    tags = copy_tags(rule, "orders-production", backup, AT, "done")
    tags["backupd:state"] = state
    return RestoredCopy(TARGET, f"arn:aws:dynamodb:r:1:table/{TARGET}", "ACTIVE", tags)


@pytest.mark.parametrize(("existing", "action"), [
    (None, "start"),
    (tagged("restoring"), "resume"),
    (tagged("done"), "skip"),
    (tagged("failed"), "skip"),
    (tagged("done", backup=VAULTED), "conflict"),
    (tagged("done", rule="other"), "conflict"),
    (RestoredCopy(TARGET, "arn", "ACTIVE", {}, restored_from=NATIVE), "adopt"),
    (RestoredCopy(TARGET, "arn", "ACTIVE", {}, restored_from=None), "conflict"),
])
def test_the_same_backup_never_triggers_two_restores(existing: RestoredCopy | None,
                                                     action: str) -> None:
    """What exists under the deterministic name decides; memory plays no part."""
    [fresh] = plan_restores("orders-production", NATIVE, AT, [STAGING])
    assert dedupe(fresh, existing).action == action


def test_suffix_time_reads_the_backup_time_back_from_a_name() -> None:
    assert suffix_time(TARGET) == AT
    assert suffix_time("orders-staging") is None
    assert suffix_time("orders-20261399-05-00-07") is None
    assert looks_restored(TARGET)
    assert not looks_restored("orders")


def test_an_untagged_table_the_rule_made_is_adopted_and_a_look_alike_is_not() -> None:
    ours = RestoredCopy(TARGET, "arn", "CREATING", {}, restored_from=NATIVE)
    plan = adoptable(ours, "orders-production", [STAGING])
    assert plan is not None
    assert (plan.rule, plan.source_backup, plan.backup_time) == ("staging", NATIVE, AT)
    look_alike = RestoredCopy("orders-other-20261124-05-00-07", "arn", "ACTIVE", {},
                              restored_from=NATIVE)
    assert adoptable(look_alike, "orders-production", [STAGING]) is None
    assert adoptable(tagged("restoring"), "orders-production", [STAGING]) is None
