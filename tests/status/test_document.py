"""/status is an API: one time format, every section through its model, bounded, schema shipped."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from jsonschema import Draft202012Validator
from prometheus_client import CollectorRegistry

from daemon.config.settings import Settings
from daemon.core.alerts import Alert
from daemon.core.clock import FakeClock, rfc3339
from daemon.core.events.decode import JobEvent
from daemon.core.events.tracker import JobTable
from daemon.events.status import register
from daemon.kernel.history import RunningHistory
from daemon.kernel.outbox import AlertOutbox
from daemon.kernel.status import StatusBoard
from daemon.kernel.status_model import (
    MAX_ALERTS,
    MAX_GROUPS,
    MAX_HISTORY,
    MAX_JOBS,
    SECTIONS,
    json_schema,
)
from daemon.obs.collector import ScopeLevel
from daemon.obs.metrics import Metrics
from tests.deploy.processes import get_json
from tests.status.shapes import COVERAGE, FRESHNESS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "status.schema.json"
T0 = datetime(2026, 12, 4, 13, 8, 15, 300_000, tzinfo=UTC)
GIB = 2**30
Z_TIME = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"


def job(n: int, size: int, *, vault: str = "ops", region: str = "eu-west-1") -> JobEvent:
    return JobEvent(kind="backup_job", job_id=f"job-{n}", state="RUNNING",
                    resource_arn=f"arn:aws:dynamodb:{region}:111122223333:table/t-{n}",
                    resource_type="DynamoDB", vault=vault, region=region,
                    account="111122223333", size_bytes=size, time=T0,
                    creation_date=T0 - timedelta(minutes=n % 60))


def validator() -> Draft202012Validator:
    return Draft202012Validator(json.loads(SCHEMA.read_text()),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def full_board() -> StatusBoard:
    """A board with every section, each as its producer (or the contract) shapes it."""
    clock = FakeClock(T0)
    board = StatusBoard(clock)
    tracker = JobTable()
    for n in range(3):
        tracker.apply(job(n, (n + 1) * GIB))
    register(board, tracker, lambda: 1, Settings())
    history = RunningHistory(tracker, clock, 30)
    history.run_once()
    board.add("history", history.status)
    outbox = AlertOutbox(None, Metrics(CollectorRegistry()), None, clock=clock)
    outbox.submit(Alert("critical", "threshold.critical", "running backups CRITICAL"))
    board.add("alerts", outbox.status)
    board.add("leader", lambda: {"leader": True, "enabled": True, "identity": "a-1",
                                 "holder": "a-1"})
    board.add("reconcile", lambda: {"last_success": T0})
    board.add("schedules", lambda: {"nightly": {
        "expression": "cron(0 5 * * ? *)", "timezone": "UTC", "engine": "dynamodb",
        "tables_selected": 2, "next_run": T0 + timedelta(hours=1), "last_success": T0,
        "missed_slots": 0, "current_slot": {"slot": T0, "deadline": T0 + timedelta(hours=1),
                                            "done": 1, "pending": 1, "in_flight": 0,
                                            "counts": {"started": 1}},
        "last_result": None}})
    board.add("freshness", lambda: FRESHNESS)
    board.add("coverage", lambda: COVERAGE)
    board.add("backup_plans", lambda: {"daily": {"state": "pending"}, "weekly": {
        "state": "in_sync", "cause": None, "plan_id": "p-1", "drifting": False,
        "differences": [], "steps": [], "applied": False, "notes": [],
        "last_checked": T0.isoformat(), "last_change": None, "error": None}})
    board.add("tasks", lambda: {"running": [], "queued": [], "queued_total": 0, "recent": [{
        "key": "k", "kind": "restore", "rule": "staging", "subject": "orders", "state": "failed",
        "phase": "validating", "detail": "0 items", "queued_at": T0, "started_at": T0,
        "finished_at": T0, "facts": {"target": "orders-staging-1"}}]})
    board.set_health("config", True)
    return board


@pytest.mark.parametrize("given", [
    T0, T0.astimezone(timezone(timedelta(hours=1))), "2026-12-04T13:08:15.3+00:00",
    "2026-12-04 13:08:15.3+00:00", "2026-12-04T13:08:15.300Z", "2026-12-04T14:08:15+01:00",
], ids=str)
def test_every_time_is_rfc3339_utc_with_z_whatever_the_producer_handed_in(given: Any) -> None:
    board = StatusBoard(FakeClock(T0))
    board.add("reconcile", lambda: {"last_success": given})
    document = board.snapshot()
    assert document["reconcile"]["last_success"] == "2026-12-04T13:08:15Z"
    assert document["generated_at"] == "2026-12-04T13:08:15Z"


def test_the_one_formatter_writes_whole_seconds_in_utc_with_z() -> None:
    assert rfc3339(T0.astimezone(timezone(timedelta(hours=-5)))) == "2026-12-04T13:08:15Z"
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02T03:04:05Z"  # naive is UTC


def test_a_full_document_validates_against_the_shipped_schema() -> None:
    document = full_board().snapshot()
    assert document["errors"] == {}
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(document)]
    assert not errors
    assert document["backup_plans"]["weekly"]["last_checked"] == "2026-12-04T13:08:15Z"


@pytest.mark.e2e
@pytest.mark.slow
def test_the_demos_document_from_every_real_producer_validates(demo: str) -> None:
    """The demo's daemon runs every producer (leader gate, scheduler, freshness, coverage,
    plans, restores and exports, alerts): each section fits its model and the schema."""
    document = get_json(f"{demo}/status")
    assert document["errors"] == {}
    # one account: no member role assumed, no member schedule (the Organization demo's)
    assert sorted(name for name in SECTIONS if document.get(name) is None) == [
        "member_accounts", "member_freshness"]
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator().iter_errors(document)]
    assert not errors


def test_freshness_and_coverage_before_their_first_pass_fit_too() -> None:
    board = StatusBoard(FakeClock(T0))
    board.add("freshness", lambda: {**FRESHNESS, "seeded": False, "seeded_at": None,
                                    "seed_seconds": None, "listed_until": None, "schedules": {}})
    board.add("coverage", lambda: {**COVERAGE, "evaluated_at": None, "tables": None,
                                   "gaps": {}, "undecided": None})
    document = board.snapshot()
    assert document["errors"] == {}
    assert document["coverage"]["gaps"] == {}


def test_the_shipped_schema_is_generated_from_the_models() -> None:
    assert json.loads(SCHEMA.read_text()) == json_schema(), "run python scripts/readme_tables.py"


def test_the_schema_refuses_a_time_in_another_format() -> None:
    document = full_board().snapshot()
    document["reconcile"]["last_success"] = "2026-12-04T13:08:15+00:00"
    assert not validator().is_valid(document)


def test_a_section_that_does_not_fit_its_model_is_named_in_errors_and_the_rest_served() -> None:
    board = full_board()
    board.add("leader", lambda: {"leader": True, "enabled": True, "identity": "a-1",
                                 "holder": "a-1", "colour": "red"})
    board.add("tasks", lambda: 1 // 0)  # type: ignore[arg-type,return-value]
    board.add("thresholds", lambda: {"level": 2})
    document = board.snapshot()
    assert set(document["errors"]) == {"leader", "tasks", "thresholds"}
    assert "colour" in document["errors"]["leader"]
    assert "ZeroDivisionError" in document["errors"]["tasks"]
    assert "not a section" in document["errors"]["thresholds"]
    assert document["leader"] is None
    assert document["jobs"]["running"] == 3
    assert validator().is_valid(document)


def test_running_jobs_are_listed_largest_first_with_the_total_count() -> None:
    board = StatusBoard(FakeClock(T0))
    tracker = JobTable()
    for n in range(500):
        tracker.apply(job(n, (n * 7919) % 1000 * GIB))
    register(board, tracker, lambda: 0, Settings())
    jobs = board.snapshot()["jobs"]
    assert jobs["running"] == 500
    assert jobs["running_bytes"] == tracker.running_bytes_total()
    sizes = [j["size_bytes"] for j in jobs["largest"]]
    assert len(sizes) == MAX_JOBS
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[0] == 999 * GIB
    assert jobs["largest"][0]["resource"].startswith("t-")


def test_the_document_stays_small_whatever_the_estate() -> None:
    """50 000 jobs in 400 groups, 5 000 alerts, a day of samples: still a few tens of KiB."""
    clock = FakeClock(T0)
    board = StatusBoard(clock)
    tracker = JobTable()
    for n in range(50_000):
        tracker.apply(job(n, n, vault=f"vault-{n % 400}"))
    register(board, tracker, lambda: 0, Settings())
    history = RunningHistory(tracker, clock, 30)
    outbox = AlertOutbox(None, Metrics(CollectorRegistry()), None, clock=clock)
    for _ in range(2880):
        history.run_once()
        clock.advance(30)
    for n in range(5000):
        outbox.submit(Alert("warning", "backup_failed", f"backup {n} failed"))
    board.add("history", history.status)
    board.add("alerts", outbox.status)
    document = board.snapshot()
    assert document["errors"] == {}
    assert len(document["jobs"]["largest"]) == MAX_JOBS
    assert len(document["jobs"]["by_group"]) == MAX_GROUPS
    assert document["jobs"]["groups_total"] == 400
    assert len(document["history"]["points"]) == MAX_HISTORY
    assert [a["subject"] for a in document["alerts"]["recent"][:2]] == [
        "backup 4999 failed", "backup 4998 failed"]
    assert len(document["alerts"]["recent"]) == MAX_ALERTS
    assert len(json.dumps(document)) < 64 * 1024


def test_the_limit_section_gives_the_level_and_where_its_marks_are() -> None:
    board = StatusBoard(FakeClock(T0))
    tracker = JobTable()
    tracker.apply(job(1, 85 * GIB))
    register(board, tracker, lambda: 1, Settings(limit_bytes=100 * GIB))
    assert board.snapshot()["limit"] == {
        "limit_bytes": 100 * GIB, "running_bytes": 85 * GIB, "running_jobs": 1,
        "level": "warning", "warning_ratio": 0.8, "critical_ratio": 0.9,
        "warning_bytes": 80 * GIB, "critical_bytes": 90 * GIB, "by_account": []}


def test_the_limit_section_gives_each_account_and_region_its_level_and_limit() -> None:
    board = StatusBoard(FakeClock(T0))
    tracker = JobTable()
    tracker.apply(job(1, 45 * GIB))
    tracker.apply(job(2, 5 * GIB, region="us-east-1"))
    levels = [ScopeLevel("111122223333", "eu-west-1", 2, 50 * GIB),
              ScopeLevel("111122223333", "us-east-1", 0, 100 * GIB),
              ScopeLevel("444455556666", "eu-west-1", 0, 100 * GIB)]
    register(board, tracker, lambda: 2, Settings(limit_bytes=100 * GIB),
             levels=lambda: levels, limit_bytes=100 * GIB)
    document = board.snapshot()
    assert document["limit"]["level"] == "critical"
    assert document["limit"]["by_account"] == [
        {"account": "111122223333", "region": "eu-west-1", "running_jobs": 1,
         "running_bytes": 45 * GIB, "limit_bytes": 50 * GIB, "level": "critical"},
        {"account": "111122223333", "region": "us-east-1", "running_jobs": 1,
         "running_bytes": 5 * GIB, "limit_bytes": 100 * GIB, "level": "ok"},
        {"account": "444455556666", "region": "eu-west-1", "running_jobs": 0,
         "running_bytes": 0, "limit_bytes": 100 * GIB, "level": "ok"}]
    assert {g["account"] for g in document["jobs"]["by_group"]} == {"111122223333"}
    validator().validate(document)


def test_history_keeps_the_last_samples_oldest_first() -> None:
    clock = FakeClock(T0)
    tracker = JobTable()
    history = RunningHistory(tracker, clock, 30)
    for n in range(MAX_HISTORY + 5):
        tracker.apply(job(n, GIB))
        history.run_once()
        clock.advance(30)
    points = history.status().points
    assert len(points) == MAX_HISTORY
    assert points[0].running_jobs == 6
    assert points[-1].running_bytes == (MAX_HISTORY + 5) * GIB
    assert points[1].at - points[0].at == timedelta(seconds=30)


class RefusingSns:
    """SNS that refuses the subjects it is told to, for good, and takes the others."""

    def __init__(self, refuse: set[str]) -> None:
        self.refuse = refuse

    async def __call__(self) -> RefusingSns:  # the outbox's typed accessor: connect
        return self

    async def publish(self, **call: Any) -> dict[str, str]:
        if call["Subject"] in self.refuse:
            raise ClientError({"Error": {"Code": "InvalidParameter", "Message": "no"}}, "Publish")
        return {"MessageId": "m"}


async def test_alerts_carry_when_they_were_raised_and_how_their_delivery_went() -> None:
    clock = FakeClock(T0)
    outbox = AlertOutbox("arn:aws:sns:eu-west-1:111122223333:alerts", Metrics(CollectorRegistry()),
                         RefusingSns({"refused"}), clock=clock)
    for subject in ("published", "refused", "waiting"):
        outbox.submit(Alert("warning", "backup_failed", subject))
        clock.advance(60)
    assert await outbox.run_once()
    assert await outbox.run_once()
    lines = [(a.subject, a.delivery, rfc3339(a.at)) for a in outbox.status().recent]
    assert lines == [("waiting", "pending", "2026-12-04T13:10:15Z"),
                     ("refused", "dropped", "2026-12-04T13:09:15Z"),
                     ("published", "published", "2026-12-04T13:08:15Z")]
    assert outbox.status().pending == 1
