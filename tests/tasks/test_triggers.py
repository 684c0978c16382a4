"""Trigger decisions: which rules a completed backup starts, and de-duplication from AWS state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from daemon.core.arns import rds_identifier, table_name
from daemon.core.tasks.restore_triggers import (
    adoptable,
    backup_ms,
    dedupe,
    looks_restored,
    missed_restores,
    plan_restores,
    recovery_point_kind,
    suffix_time,
    superseded,
)
from daemon.core.tasks.rotation import RestoredCopy, copy_tags

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
    assert table_name("arn:aws:dynamodb:r:1:table/orders") == "orders"
    assert table_name(NATIVE) == "orders-production"
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


def copy_from(at: datetime, state: str = "done", *, rule: str = "staging",
              source: str = "orders-production") -> RestoredCopy:
    """A tagged copy of `source` made by `rule` from a backup taken at `at`."""
    name = f"orders-staging-{at:%Y%m%d-%H-%M-%S}"
    tags = copy_tags(rule, source, f"{NATIVE}-{at:%H%M%S}", at, "done")
    tags["backupd:state"] = state
    return RestoredCopy(name, f"arn:aws:dynamodb:r:1:table/{name}", "ACTIVE", tags)


LATER = AT + timedelta(hours=6)


def test_a_lost_trigger_is_caught_up_with_the_newest_backup_only() -> None:
    """Two completed backups, no copy: only the newer one is restored."""
    completed = [("orders-production", NATIVE, AT), ("orders-production", VAULTED, LATER),
                 ("customers", NATIVE, LATER)]  # no rule matches it
    [decision] = missed_restores(completed, [], [STAGING])
    assert decision.action == "start"
    assert decision.plan is not None
    assert (decision.plan.source_backup, decision.plan.backup_time) == (VAULTED, LATER)
    assert decision.plan.target == "orders-staging-20261124-11-00-07"


@pytest.mark.parametrize("state", ["restoring", "done", "failed"])
def test_a_backup_with_a_copy_in_any_state_is_not_caught_up(state: str) -> None:
    assert missed_restores([("orders-production", NATIVE, AT)], [copy_from(AT, state)],
                           [STAGING]) == []


def test_an_older_backup_whose_copy_rotation_deleted_is_never_restored_again() -> None:
    """Only LATER's copy is left (AT's was rotated away): AT is not restored again."""
    completed = [("orders-production", NATIVE, AT), ("orders-production", NATIVE, LATER)]
    assert missed_restores(completed, [copy_from(LATER)], [STAGING]) == []


def test_copies_of_another_rule_or_source_do_not_count() -> None:
    other = [copy_from(LATER, rule="other"), copy_from(LATER, source="orders-x-production")]
    [decision] = missed_restores([("orders-production", NATIVE, AT)], other, [STAGING])
    assert decision.plan is not None
    assert decision.plan.backup_time == AT


def test_a_listing_with_more_digits_than_the_tag_still_matches_its_copy() -> None:
    """Tags keep the second; a listing's sub-second time is the same backup."""
    listed = AT + timedelta(microseconds=658_123)
    assert missed_restores([("orders-production", NATIVE, listed)], [copy_from(AT)],
                           [STAGING]) == []


def test_backup_times_are_cut_to_the_millisecond_as_events_write_them() -> None:
    listed = AT + timedelta(microseconds=658_999)
    assert backup_ms(listed) == AT + timedelta(milliseconds=658)
    [from_event] = plan_restores("orders-production", NATIVE, backup_ms(listed), [STAGING])
    [from_listing] = plan_restores("orders-production", NATIVE, listed, [STAGING])
    assert from_event.plan == from_listing.plan


def test_a_restore_older_than_a_finished_copy_is_superseded() -> None:
    [old] = plan_restores("orders-production", NATIVE, AT, [STAGING])
    assert old.plan is not None
    newer = copy_from(LATER)
    assert superseded(old.plan, [newer, copy_from(AT - timedelta(days=1))]) == newer
    assert superseded(old.plan, [copy_from(LATER, "failed"), copy_from(LATER, rule="x")]) is None
    [new] = plan_restores("orders-production", NATIVE, LATER, [STAGING])
    assert new.plan is not None
    assert superseded(new.plan, [copy_from(AT)]) is None
