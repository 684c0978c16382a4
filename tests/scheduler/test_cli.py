"""`ddb-backupd next-runs` and `ddb-backupd plan`, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[str], str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_next_runs_prints_five_utc_times_after_from(capsys):
    code, lines, _ = run(capsys, "next-runs", "cron(0 5 * * ? *)", "--from",
                         "2026-11-24T00:00:00Z")
    assert code == 0
    assert lines == [f"2026-11-{d}T05:00:00Z" for d in range(24, 29)]


def test_next_runs_honours_count_and_timezone(capsys):
    code, lines, _ = run(capsys, "next-runs", "cron(0 9 ? * MON-FRI *)", "--count", "2",
                         "--timezone", "Europe/Paris", "--from", "2026-11-27T12:00:00+01:00")
    assert code == 0
    assert lines == ["2026-11-30T08:00:00Z", "2026-12-01T08:00:00Z"]


def test_next_runs_of_a_rate_are_aligned_to_the_epoch(capsys):
    _, lines, _ = run(capsys, "next-runs", "rate(6 hours)", "--count", "2", "--from",
                      "2026-11-24T07:13:00Z")
    assert lines == ["2026-11-24T12:00:00Z", "2026-11-24T18:00:00Z"]


@pytest.mark.parametrize(("argv", "reason"), [
    (["cron(nonsense)"], "6 fields"),
    (["cron(0 5 * * * *)"], "must be '?'"),
    (["rate(1 hours)"], "singular"),
    (["cron(0 5 * * ? *)", "--timezone", "Nowhere/Land"], "unknown time zone"),
    (["cron(0 5 * * ? *)", "--from", "soon"], "--from"),
    (["cron(0 5 * * ? *)", "--count", "0"], "--count"),
])
def test_next_runs_rejects_bad_input_with_exit_2_and_a_reason(capsys, argv, reason):
    code, lines, err = run(capsys, "next-runs", *argv)
    assert code == 2
    assert lines == []
    assert reason in err


@pytest.mark.parametrize(("expression", "reason"), [
    ("rate( 10 minutes )", "rate(): no spaces inside the parentheses"),
    (" rate(10 minutes)", "no spaces before or after the expression"),
    ("cron( 0 5 * * ? * )", "cron(): no spaces inside the parentheses"),
    (" cron(0 5 * * ? *)", "no spaces before or after the expression"),
    ("cron(0  5 * * ? *)", "cron(): separate the fields with one space"),
    ("cron(0\t5 * * ? *)", "cron(): separate the fields with one space"),
], ids=repr)
def test_next_runs_refuses_whitespace_aws_refuses_with_exit_2(capsys, expression, reason):
    code, lines, err = run(capsys, "next-runs", expression)
    assert (code, lines) == (2, [])
    assert err.startswith("invalid expression: ")
    assert reason in err


def test_next_runs_wraps_aws_backwards_hour_range_example(capsys):
    """The EventBridge guide's cron(0/30 20-2 ? * MON-FRI *): 20:00-23:30 and 00:00-02:30 on
    Monday to Friday, so Friday night stops at midnight and Monday starts at 00:00."""
    code, lines, _ = run(capsys, "next-runs", "cron(0/30 20-2 ? * MON-FRI *)", "--count", "10",
                         "--from", "2026-11-27T22:45:00Z")
    assert code == 0
    assert lines == ["2026-11-27T23:00:00Z", "2026-11-27T23:30:00Z",
                     "2026-11-30T00:00:00Z", "2026-11-30T00:30:00Z", "2026-11-30T01:00:00Z",
                     "2026-11-30T01:30:00Z", "2026-11-30T02:00:00Z", "2026-11-30T02:30:00Z",
                     "2026-11-30T20:00:00Z", "2026-11-30T20:30:00Z"]


def test_next_runs_stops_when_the_years_end(capsys):
    code, lines, err = run(capsys, "next-runs", "cron(0 0 1 1 ? 2027-2028)", "--from",
                           "2026-01-01T00:00:00Z")
    assert code == 0
    assert lines == ["2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"]
    assert "only 2" in err


def write_backups(tmp_path: Path, rows: list[dict[str, Any]]) -> str:
    path = tmp_path / "backups.json"
    path.write_text(json.dumps(rows))
    return str(path)


def test_plan_offline_prints_one_decision_per_backup_newest_first(capsys, tmp_path):
    rows = [{"arn": f"b{i}", "created": f"2026-11-{10 + i}T05:00:00Z", "status": "AVAILABLE",
             "owned": True} for i in range(5)]
    code, lines, _ = run(capsys, "plan", "--backups", write_backups(tmp_path, rows),
                         "--policy", '{"keep_last": 2}', "--now", "2026-11-24T12:00:00Z")
    decisions = [json.loads(line) for line in lines]
    assert code == 0
    assert [(d["arn"], d["action"]) for d in decisions] == [
        ("b4", "keep"), ("b3", "keep"), ("b2", "delete"), ("b1", "delete"), ("b0", "delete")]
    assert decisions[0]["reasons"] == ["keep_last", "floor:newest"]
    assert decisions[2]["reasons"] == ["expired"]


def test_plan_offline_reads_periods_in_the_given_time_zone(capsys, tmp_path):
    rows = [{"arn": "late", "created": "2026-11-23T23:30:00Z", "status": "AVAILABLE",
             "owned": True},
            {"arn": "early", "created": "2026-11-24T03:00:00Z", "status": "AVAILABLE",
             "owned": True}]
    _, lines, _ = run(capsys, "plan", "--backups", write_backups(tmp_path, rows), "--policy",
                      '{"keep_daily": 5}', "--now", "2026-11-24T12:00:00Z", "--timezone",
                      "Europe/Paris")
    assert [json.loads(line)["action"] for line in lines] == ["keep", "delete"]


@pytest.mark.parametrize(("rows", "policy", "field"), [
    ([{"arn": "a", "created": "not a time", "status": "AVAILABLE", "owned": True}],
     "{}", "backups[0].created"),
    ([{"arn": "a", "created": "2026-11-24T00:00:00Z", "status": "GONE", "owned": True}],
     "{}", "backups[0].status"),
    ([{"arn": "a", "created": "2026-11-24T00:00:00Z", "status": "AVAILABLE"}],
     "{}", "backups[0].owned"),
    ([], '{"keep_last": 0}', "policy.keep_last"),
    ([], '{"keep_forever": 1}', "policy.keep_forever"),
    ([], "not json", "policy"),
])
def test_plan_offline_rejects_bad_input_naming_the_field(capsys, tmp_path, rows, policy, field):
    code, lines, err = run(capsys, "plan", "--backups", write_backups(tmp_path, rows),
                           "--policy", policy, "--now", "2026-11-24T00:00:00Z")
    assert code == 2
    assert lines == []
    assert field in err


def test_plan_offline_needs_a_policy_and_a_readable_file(capsys, tmp_path):
    assert run(capsys, "plan", "--backups", str(tmp_path / "missing.json"), "--policy",
               "{}")[0] == 2
    code, _, err = run(capsys, "plan", "--backups", write_backups(tmp_path, []))
    assert code == 2
    assert "--policy" in err


@pytest.mark.e2e
def test_plan_against_aws_shows_next_runs_tables_and_deletions(capsys, aws_env, make_table,
                                                               monkeypatch):
    import boto3  # noqa: PLC0415

    make_table("orders-1")
    make_table("users")
    ddb = boto3.client("dynamodb")
    for hour in ("0300", "0400", "0500"):
        ddb.create_backup(TableName="orders-1", BackupName=f"backupd-hourly-20261124{hour}")
    monkeypatch.setenv("BACKUPD_SCHEDULES", json.dumps([{
        "name": "hourly", "expression": "rate(1 hour)", "tables": ["orders-*"],
        "retention": {"keep_last": 2}}]))
    code, lines, _ = run(capsys, "plan", "--now", "2026-11-24T05:30:00Z")
    rows = [json.loads(line) for line in lines]
    assert code == 0
    assert rows[0] == {"schedule": "hourly", "expression": "rate(1 hour)", "timezone": "UTC",
                       "engine": "dynamodb", "next_run": "2026-11-24T06:00:00Z",
                       "tables": ["orders-1"]}
    assert [(r["created"], r["action"]) for r in rows[1:4]] == [
        ("2026-11-24T05:00:00Z", "keep"), ("2026-11-24T04:00:00Z", "keep"),
        ("2026-11-24T03:00:00Z", "delete")]
    assert rows[4:] == [{"gap": "unselected", "table": "users"}]
    assert len(ddb.list_backups()["BackupSummaries"]) == 3
