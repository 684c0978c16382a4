"""Threshold levels with hysteresis, and the alerts a level change or a failed job raises."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from daemon.core.events.decode import JobEvent
from daemon.core.events.thresholds import (
    Level,
    LevelChange,
    LimitTable,
    ThresholdState,
    evaluate,
    failure_alert,
    level_alert,
    level_for,
    resource_name,
)
from daemon.core.events.tracker import JobTable

T0 = datetime(2026, 11, 24, 5, 0, tzinfo=UTC)
LIMIT = 1000
COOLDOWN = 300.0


def step(state: ThresholdState, total: int, at: float) -> tuple[ThresholdState, LevelChange | None]:
    return evaluate(state, total, limit=LIMIT, warning_ratio=0.8, critical_ratio=0.9,
                    cooldown_seconds=COOLDOWN, now=T0 + timedelta(seconds=at))


@pytest.mark.parametrize(("total", "level"), [
    (0, Level.OK), (799, Level.OK), (800, Level.WARNING), (899, Level.WARNING),
    (900, Level.CRITICAL), (10**15, Level.CRITICAL)])
def test_levels_follow_the_share_of_the_limit(total: int, level: Level) -> None:
    assert level_for(total, limit=LIMIT, warning_ratio=0.8, critical_ratio=0.9) == level


def test_the_default_limit_is_reached_at_its_exact_byte_counts() -> None:
    limit = 54975581388800
    assert level_for(int(limit * 0.8) - 1, limit=limit, warning_ratio=0.8,
                     critical_ratio=0.9) == Level.OK
    assert level_for(int(limit * 0.9), limit=limit, warning_ratio=0.8,
                     critical_ratio=0.9) == Level.CRITICAL


def test_escalation_is_immediate_even_within_the_cooldown() -> None:
    state, change = step(ThresholdState(), 850, 0)
    assert change == LevelChange(Level.OK, Level.WARNING, T0)
    state, change = step(state, 950, 1)
    assert change is not None
    assert (state.level, change.previous) == (Level.CRITICAL, Level.WARNING)


def test_de_escalation_waits_for_the_cooldown() -> None:
    state, _ = step(ThresholdState(), 950, 0)
    state, change = step(state, 100, 299)
    assert (state.level, change) == (Level.CRITICAL, None)
    state, change = step(state, 100, 300)
    assert change == LevelChange(Level.CRITICAL, Level.OK, T0 + timedelta(seconds=300))


def test_de_escalation_needs_the_total_below_the_level() -> None:
    state, _ = step(ThresholdState(), 950, 0)
    state, change = step(state, 920, 10_000)
    assert (state.level, change) == (Level.CRITICAL, None)
    state, change = step(state, 850, 10_001)
    assert (state.level, change) == (Level.WARNING, LevelChange(
        Level.CRITICAL, Level.WARNING, T0 + timedelta(seconds=10_001)))


def test_an_unchanged_level_is_no_news() -> None:
    state = ThresholdState()
    assert step(state, 10, 0) == (state, None)


@given(st.lists(st.tuples(st.floats(0, 400), st.integers(0, 1200)), max_size=40))
def test_a_level_never_falls_sooner_than_the_cooldown_after_a_change(
        steps: list[tuple[float, int]]) -> None:
    state, at, last_change = ThresholdState(), 0.0, None
    for gap, total in steps:
        at += gap
        state, change = step(state, total, at)
        if change is None:
            continue
        # measured on the times the decision saw (microseconds), not on the float sum
        if change.level < change.previous and last_change is not None:
            assert (change.at - last_change).total_seconds() >= COOLDOWN
        assert change.level == level_for(total, limit=LIMIT, warning_ratio=0.8, critical_ratio=0.9)
        last_change = change.at


@pytest.mark.parametrize(("level", "severity", "event"), [
    (Level.WARNING, "warning", "threshold.warning"), (Level.CRITICAL, "critical",
                                                      "threshold.critical"),
    (Level.OK, "info", "threshold.cleared")])
def test_a_level_change_alert_says_level_total_and_limit(level: Level, severity: str,
                                                         event: str) -> None:
    alert = level_alert(LevelChange(Level.WARNING if level != Level.WARNING else Level.OK, level,
                                    T0), total=46 * 2**40, limit=54975581388800)
    assert (alert.severity, alert.event, alert.body["event"]) == (severity, event, event)
    assert "46.0 TiB of 50.0 TiB limit (92%)" in alert.subject
    assert alert.body["running_bytes"] == 46 * 2**40
    assert alert.body["at"] == "2026-11-24T05:00:00Z"
    json.dumps(alert.body)


def test_a_level_change_alert_names_the_account_and_region() -> None:
    alert = level_alert(LevelChange(Level.OK, Level.WARNING, T0), total=850, limit=LIMIT,
                        account="444455556666", region="eu-west-1")
    assert "running backups WARNING in 444455556666/eu-west-1:" in alert.subject
    assert (alert.body["account"], alert.body["region"]) == ("444455556666", "eu-west-1")


@pytest.mark.parametrize(("account", "region", "limit"), [
    ("111111111111", "eu-west-1", 100), ("222222222222", "eu-west-1", 20),
    ("222222222222", "us-east-1", 30), ("222222222222", "ap-south-1", 20)])
def test_the_most_specific_limit_wins(account: str, region: str, limit: int) -> None:
    table = LimitTable(100, {"222222222222": 20}, {("222222222222", "us-east-1"): 30})
    assert table.limit(account, region) == limit


def failed(state: str, **fields: object) -> JobEvent:
    base = {"kind": "backup_job", "job_id": "job-1", "state": state,
            "resource_arn": "arn:aws:dynamodb:eu-west-1:111122223333:table/orders",
            "resource_type": "DynamoDB", "vault": "ops", "region": "eu-west-1",
            "account": "111122223333", "size_bytes": 42, "time": T0,
            "status_message": "Backup job failed because the table was deleted."}
    base.update(fields)
    return JobEvent(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(("state", "severity"), [
    ("FAILED", "critical"), ("ABORTED", "critical"), ("EXPIRED", "critical"),
    ("PARTIAL", "warning")])
def test_a_failed_job_alert_names_the_table_and_state(state: str, severity: str) -> None:
    alert = failure_alert(failed(state))
    assert alert.severity == severity
    assert alert.event == f"job.{state.lower()}"
    assert alert.subject == (f"ddb-backupd: backup job {state}: orders "
                             "(DynamoDB, 111122223333/eu-west-1)")
    assert alert.body["account"] == "111122223333"
    assert alert.body["status_message"] == "Backup job failed because the table was deleted."
    assert (alert.body["job_id"], alert.body["vault"], alert.body["size_bytes"]) == (
        "job-1", "ops", 42)
    json.dumps(alert.body)


def test_a_failed_job_alert_takes_the_size_the_tracker_learned() -> None:
    table = JobTable()
    table.apply(failed("RUNNING", size_bytes=None))
    table.set_size("job-1", 4096)
    transition = table.apply(failed("FAILED", size_bytes=None, time=T0 + timedelta(seconds=5)))
    assert transition is not None
    assert failure_alert(failed("FAILED", size_bytes=None), transition.job).body["size_bytes"] == 4096


@given(st.text(max_size=300), st.sampled_from(["FAILED", "PARTIAL"]))
def test_subjects_are_printable_ascii_under_100_characters(name: str, state: str) -> None:
    event = failed(state, resource_arn=f"arn:aws:dynamodb:eu-west-1:1:table/{name}",
                   resource_type=name[:50] or None)
    subject = failure_alert(event).subject
    assert len(subject) < 100
    assert all(" " <= c <= "~" for c in subject)


def test_a_job_without_a_resource_is_named_by_its_id() -> None:
    alert = failure_alert(failed("FAILED", resource_arn=None, resource_type=None, region=None,
                                 account=None))
    assert alert.subject == "ddb-backupd: backup job FAILED: job-1"


@pytest.mark.parametrize(("arn", "name"), [
    ("arn:aws:dynamodb:eu-west-1:1:table/orders", "orders"),
    ("arn:aws:dynamodb:eu-west-1:1:table/orders/backup/0156-abc", "orders"),
    ("arn:aws:ec2:us-west-2:1:volume/vol-0b5ae24f2ee72d926", "vol-0b5ae24f2ee72d926"),
    ("arn:aws:rds:us-west-2:1:db:example-database", "example-database"),
    (None, None)])
def test_resources_are_named_as_people_call_them(arn: str | None, name: str | None) -> None:
    assert resource_name(arn) == name

