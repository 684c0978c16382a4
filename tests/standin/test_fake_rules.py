"""The fake's rules without HTTP: the clock, seeded outcomes, event shapes, paging, ARNs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.standin import BackupFake, FakeConfig, arns, events
from daemon.standin.protocol import BackupApiError, paginate

TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/orders"
VOLUME = "arn:aws:ec2:us-east-1:123456789012:volume/vol-0123"  # needs no moto resource


@pytest.fixture
def fake(fresh_standin, make_vault):
    """A fake without its clock thread: time moves only when a test calls `tick(now)`."""
    make_vault("v")
    return BackupFake(config=FakeConfig(duration_seconds=10, start_delay_seconds=1))


def later(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def test_jobs_move_created_running_final_as_the_clock_passes(fake):
    job = fake.inject_job(TABLE, "Default", final_state="COMPLETED")
    assert fake.job(job.job_id).state == "CREATED"
    fake.tick(later(2))
    assert fake.job(job.job_id).state == "RUNNING"
    assert 0 < float(fake.job(job.job_id).percent_done(later(6))) < 100
    fake.tick(later(12))
    assert fake.job(job.job_id).state == "COMPLETED"


def test_a_late_tick_applies_every_missed_transition_at_once(fake):
    job = fake.inject_job(TABLE, "Default", final_state="COMPLETED")
    fake.tick(later(60))
    assert fake.job(job.job_id).state == "COMPLETED"


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_the_same_seed_gives_the_same_outcomes(fresh_standin, seed):
    def outcomes():
        fresh_standin.reset()
        fake = BackupFake(config=FakeConfig(failure_rate=0.5, seed=seed, duration_seconds=0,
                                            start_delay_seconds=0))
        ids = [fake.inject_job(VOLUME, "Default").job_id for _ in range(20)]
        fake.tick(later(1))
        return [fake.job(i).state for i in ids]

    first, second = outcomes(), outcomes()
    assert first == second
    assert {"COMPLETED", "FAILED"} == set(first)


def test_a_once_plan_applies_to_the_next_job_only(fake):
    fake.plan(VOLUME, state="FAILED", once=True)
    first = fake.backups.start("us-east-1", _body(VOLUME), later(0))["BackupJobId"]
    second = fake.backups.start("us-east-1", _body(VOLUME), later(0))["BackupJobId"]
    fake.tick(later(60))
    assert [fake.job(first).state, fake.job(second).state] == ["FAILED", "COMPLETED"]


def test_a_missing_table_fails_unless_a_plan_says_otherwise(fake):
    fake.plan(TABLE, state="COMPLETED", once=True)
    planned = fake.backups.start("us-east-1", _body(TABLE), later(0))["BackupJobId"]
    unplanned = fake.backups.start("us-east-1", _body(TABLE), later(0))["BackupJobId"]
    fake.tick(later(60))
    assert [fake.job(planned).state, fake.job(unplanned).state] == ["COMPLETED", "FAILED"]


def _body(arn: str) -> dict[str, str]:
    return {"BackupVaultName": "v", "ResourceArn": arn,
            "IamRoleArn": "arn:aws:iam::123456789012:role/r"}


def test_inject_rejects_unknown_states(fake):
    with pytest.raises(ValueError, match="unknown"):
        fake.inject_job(TABLE, "Default", state="DONE")


def test_configure_rejects_unknown_settings(fake):
    with pytest.raises(TypeError, match="bogus"):
        fake.configure(bogus=1)


def test_jobs_returns_detached_copies(fake):
    job = fake.inject_job(TABLE, "Default")
    copy = fake.jobs()[0]
    copy.state = "FAILED"
    assert fake.job(job.job_id).state == "CREATED"


def test_a_running_event_has_no_size_and_a_completed_one_has_it_as_a_string(fake):
    job = fake.inject_job(TABLE, "Default", state="RUNNING", size_bytes=99)
    running = events.backup_job_event(fake.job(job.job_id), later(0))
    fake.finish(job.job_id)
    done = events.backup_job_event(fake.job(job.job_id), later(0))
    assert "backupSizeInBytes" not in running["detail"]
    assert done["detail"]["backupSizeInBytes"] == "99"
    assert done["detail-type"] == "Backup Job State Change"
    assert done["time"].endswith("Z")


def test_pages_cover_every_item_exactly_once():
    items = list(range(10))
    seen, token = [], None
    while True:
        page, token = paginate(items, {"maxResults": "4", **({"nextToken": token} if token
                                                             else {})})
        seen += page
        if token is None:
            break
    assert seen == items


@pytest.mark.parametrize("query", [{"maxResults": "0"}, {"maxResults": "x"},
                                   {"nextToken": "!!"}])
def test_bad_paging_parameters_are_invalid_parameter_values(query):
    with pytest.raises(BackupApiError) as info:
        paginate([1, 2], query)
    assert info.value.code == "InvalidParameterValueException"


@pytest.mark.parametrize(("arn", "kind"), [
    (TABLE, "DynamoDB"),
    ("arn:aws:rds:us-east-1:1:db:pg", "RDS"),
    ("arn:aws:rds:us-east-1:1:cluster:aurora", "Aurora"),
    ("arn:aws:ec2:us-east-1:1:volume/vol-1", "EBS"),
    ("arn:aws:s3:::bucket", "S3"),
    ("arn:aws:sqs:us-east-1:1:q", None),
    ("not-an-arn", None),
])
def test_resource_types_follow_aws_backup_names(arn, kind):
    assert arns.resource_type(arn) == kind


def test_native_backup_arns_are_recognised():
    assert arns.is_native_dynamodb_backup(f"{TABLE}/backup/01234567890123-abcdefgh")
    assert not arns.is_native_dynamodb_backup(TABLE)
    assert arns.dynamodb_table_name(f"{TABLE}/backup/x") == "orders"
