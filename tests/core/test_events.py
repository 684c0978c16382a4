"""The decoder: every shape AWS puts on the queue becomes a JobEvent, anything else a DecodeError."""

from __future__ import annotations

import copy
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from daemon.cli.decode import EXTRA_KEYS, KEYS, as_json
from daemon.core.errors import DecodeError
from daemon.core.events.decode import MAX_BODY_BYTES, JobEvent, decode, decode_sqs_message

DATA = Path(__file__).parent.parent / "data" / "events"
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
RUNNING: dict[str, Any] = json.loads((DATA / "eb-backup-job-dynamodb-running.json").read_text())


def event(**detail: Any) -> dict[str, Any]:
    """The DynamoDB RUNNING event with some detail fields replaced."""
    doc = copy.deepcopy(RUNNING)
    doc["detail"].update(detail)
    return doc


def sns(message: str, **attributes: str) -> str:
    """An SNS envelope as SQS receives it (raw delivery off)."""
    envelope: dict[str, Any] = {
        "Type": "Notification", "MessageId": "m-1", "Message": message,
        "TopicArn": "arn:aws:sns:eu-west-1:111122223333:backup-events",
        "Timestamp": "2026-11-24T05:00:10.000Z"}
    if attributes:
        envelope["MessageAttributes"] = {
            k: {"Type": "String", "Value": v} for k, v in attributes.items()}
    return json.dumps(envelope)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_fixture_decodes_as_recorded(name: str) -> None:
    """Each payload in tests/data/events decodes to what expected.json records (or is refused)."""
    want = EXPECTED[name]
    raw = (DATA / name).read_bytes()
    if "error" in want:
        with pytest.raises(DecodeError) as caught:
            decode_sqs_message(raw)
        assert str(caught.value) == want["error"]
    else:
        assert as_json(decode_sqs_message(raw), KEYS + EXTRA_KEYS) == want


def test_fixtures_cover_every_shape_and_outcome() -> None:
    kinds = {v.get("kind", "error") for v in EXPECTED.values()}
    sources = {v.get("source") for v in EXPECTED.values()} - {None}
    assert kinds == {"backup_job", "restore_job", "copy_job", "recovery_point", "ignored", "error"}
    assert sources == {"eventbridge", "sns-eventbridge", "vault-notification"}


@pytest.mark.parametrize("size", [1048576, "1048576", "0001048576"])
def test_sizes_may_be_numbers_or_strings(size: object) -> None:
    assert decode(json.dumps(event(backupSizeInBytes=size))).size_bytes == 1048576


@pytest.mark.parametrize("size", ["1" * 40, "9" * 19, -1, "-5", 1.5, 1048576.0, "lots", "", True,
                                  [1], 2**63, "123\n", " 1", "\uff11"])
def test_sizes_that_are_not_sizes_are_refused_naming_the_field(size: object) -> None:
    with pytest.raises(DecodeError, match=r"detail\.backupSizeInBytes"):
        decode(json.dumps(event(backupSizeInBytes=size)))


@pytest.mark.parametrize("stamp", [
    "2026-11-24T05:00:09Z", "2026-11-24T05:00:09+00:00", "2026-11-24T05:00:09.000Z",
    "2026-11-24T07:00:09+02:00", "2026-11-24T05:00:09", "2026-11-24 05:00:09Z",
    1795496409, 1795496409.0, "1795496409", 1795496409000])
def test_timestamps_in_any_iso_form_or_epoch_mean_the_same_utc_instant(stamp: object) -> None:
    doc = event()
    doc["time"] = stamp
    decoded = decode(json.dumps(doc))
    assert decoded.time == datetime(2026, 11, 24, 5, 0, 9, tzinfo=UTC)
    assert decoded.time.tzinfo is UTC


OFFSETS = st.builds(timezone, st.timedeltas(min_value=-timedelta(hours=23, minutes=59),
                                            max_value=timedelta(hours=23, minutes=59)))


@given(st.datetimes(timezones=st.just(UTC)) | st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=OFFSETS)
    | st.datetimes())
def test_a_time_is_its_instant_in_utc_whatever_the_offset(when: datetime) -> None:
    doc = event(creationDate=when.isoformat())
    doc["time"] = when.isoformat()
    decoded = decode(json.dumps(doc))
    want = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    assert (decoded.time, decoded.creation_date) == (want, want)
    assert decoded.time.tzinfo is UTC


def test_a_creation_date_may_be_epoch_seconds() -> None:
    decoded = decode(json.dumps(event(creationDate=1795496409)))
    assert decoded.creation_date == datetime(2026, 11, 24, 5, 0, 9, tzinfo=UTC)


@pytest.mark.parametrize("stamp", ["yesterday", "Jul 15, 2020 9:39:07 PM", 1e300, None, [],
                                   "0001-01-01T00:00:00+01:00"])
def test_unreadable_times_are_refused_naming_the_field(stamp: object) -> None:
    doc = event()
    doc["time"] = stamp
    with pytest.raises(DecodeError, match="time"):
        decode(json.dumps(doc))


def test_a_completed_backup_job_names_its_recovery_point_from_resources() -> None:
    decoded = decode((DATA / "eb-backup-job-completed.json").read_text())
    assert decoded.recovery_point_arn == (
        "arn:aws:backup:us-west-2:1112233445566:recovery-point:"
        "f1d966fe-a3bd-410b-b292-99f442d13b56")


def test_a_copy_job_counts_against_its_destination_vault_and_ignores_an_empty_arn_object() -> None:
    decoded = decode((DATA / "eb-copy-job-running.json").read_text())
    assert decoded.vault == "846869de-4589-45c3-ab60-4fbbabcdd3ec"
    assert decoded.recovery_point_arn is None


def test_restore_jobs_say_status_or_state() -> None:
    assert decode((DATA / "eb-restore-job-running.json").read_text()).state == "RUNNING"
    assert decode((DATA / "eb-restore-job-created.json").read_text()).state == "CREATED"


def test_the_same_event_raw_or_in_an_sns_envelope_decodes_alike_but_for_its_source() -> None:
    raw = decode(json.dumps(RUNNING))
    wrapped = decode(sns(json.dumps(RUNNING)))
    assert wrapped.source == "sns-eventbridge"
    assert as_json(wrapped) == as_json(raw)


def test_vault_notification_attributes_win_over_the_text() -> None:
    message = ("An AWS Backup job was completed successfully. Resource ARN : "
               "arn:aws:dynamodb:eu-west-1:111122223333:table/orders. BackupJob ID : text-id")
    decoded = decode(sns(message, EventType="BACKUP_JOB", State="FAILED", Id="attr-id"))
    assert (decoded.state, decoded.job_id) == ("FAILED", "attr-id")


LAZY = re.compile(r"Resource ARN\s?:\s?(arn:\S+?)\.?(?=\s|$)")


@given(st.text(st.sampled_from("arn:Resource ARN .\n\tx/"), max_size=40))
@example("Resource ARN : arn:.")
@example("Resource ARN : arn:x.. rest")
def test_a_vault_notifications_arn_ends_at_a_blank_and_leaves_a_full_stop_out(tail: str) -> None:
    """As a lazy match up to an optional full stop before a blank would read it."""
    text = "Resource ARN : " + tail
    decoded = decode(sns(text, EventType="BACKUP_JOB", State="RUNNING", Id="x"))
    lazy = LAZY.search(text)
    assert decoded.resource_arn == (None if lazy is None else lazy.group(1))


def test_vault_notification_text_fills_what_attributes_lack() -> None:
    message = ("An AWS Backup job failed. Resource ARN : "
               "arn:aws:dynamodb:eu-west-1:111122223333:table/orders.v2. BackupJob ID : abc-1")
    decoded = decode(sns(message))
    assert (decoded.kind, decoded.state, decoded.job_id) == ("backup_job", "FAILED", "abc-1")
    assert decoded.resource_arn == "arn:aws:dynamodb:eu-west-1:111122223333:table/orders.v2"
    assert (decoded.resource_type, decoded.region) == ("DynamoDB", "eu-west-1")


@pytest.mark.parametrize(("attributes", "reason"), [
    ({"EventType": "BACKUP_JOB", "State": "SLEEPING", "Id": "x"}, "State 'SLEEPING'"),
    ({"EventType": "BACKUP_JOB", "State": "FAILED"}, "no job id"),
    ({"EventType": "BACKUP_JOB", "State": "FAILED", "Id": "x", "StartTime": "soon"}, "StartTime"),
])
def test_vault_notifications_missing_facts_are_refused_with_the_reason(
        attributes: dict[str, str], reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode(sns("An AWS Backup job failed.", **attributes))


@pytest.mark.parametrize("detail_type", [["Backup Job State Change"], {"a": 1}, 5, None])
def test_a_detail_type_that_is_not_a_string_is_named_as_the_problem(detail_type: object) -> None:
    doc = event()
    doc["detail-type"] = detail_type
    with pytest.raises(DecodeError, match=r"^aws\.backup event: detail-type: "):
        decode(json.dumps(doc))


def nested(levels: int) -> Any:
    value: Any = []
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize("unread", [
    {"version": 5, "id": [1], "detail_type": "x"},
    {"unknown": nested(250)},
    {"unknown": float("nan")},
    {"unknown": "LONG NUMBER"},
    {"detail": {**RUNNING["detail"], "iamRoleArn": 5, "percentDone": None}},
], ids=["wrong-types", "deep", "nan", "long-number", "in-detail"])
def test_fields_the_daemon_does_not_read_are_never_checked(unread: dict[str, Any]) -> None:
    """Skipped unread, however odd: new AWS fields can never poison a message."""
    body = json.dumps({**RUNNING, **unread}).replace('"LONG NUMBER"', "9" * 4400)
    assert decode(body) == decode(json.dumps(RUNNING))
    assert decode(sns(body)).job_id == RUNNING["detail"]["backupJobId"]


def test_of_a_repeated_key_the_last_counts() -> None:
    body = json.dumps(RUNNING)
    assert decode('{"detail": 5, ' + body[1:]).job_id == RUNNING["detail"]["backupJobId"]
    with pytest.raises(DecodeError, match=r"^Backup Job State Change event: detail: "):
        decode(body[:-1] + ', "detail": 5}')


def test_lengths_are_counted_in_characters_not_bytes() -> None:
    assert decode(json.dumps(event(backupJobId="\U0001f600" * 1024))).job_id == "\U0001f600" * 1024
    with pytest.raises(DecodeError, match=r"detail\.backupJobId: String should have at most 1024"):
        decode(json.dumps(event(backupJobId="\U0001f600" * 1025)))


def without(doc: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k != key}


ENVELOPE = {"Type": "Notification", "Message": "BackupJob ID : x", "Timestamp": "2026-11-24T05:00:10Z"}
BACKUP = "Backup Job State Change event: "
SNS = "SNS envelope: "


@pytest.mark.parametrize(("doc", "reason"), [
    ({**RUNNING, "region": "a" * 2049},
     BACKUP + "region: String should have at most 2048 characters (got 'aaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...)"),
    (event(backupJobId=""),
     BACKUP + "detail.backupJobId: String should have at least 1 character (got '')"),
    ({**RUNNING, "account": 5}, BACKUP + "account: Input should be a valid string (got 5)"),
    ({**RUNNING, "resources": True}, BACKUP + "resources: Input should be a valid list (got True)"),
    ({**RUNNING, "resources": ["a"] * 101},
     BACKUP + "resources: List should have at most 100 items after validation, not 101"),
    ({**RUNNING, "resources": ["a", 5]},
     BACKUP + "resources.1: Input should be a valid string (got 5)"),
    (without(RUNNING, "time"), BACKUP + "time: Field required"),
    ({**RUNNING, "detail-type": "Restore Job State Change"},
     "Restore Job State Change event: detail.restoreJobId: Field required"),
    ({**ENVELOPE, "Type": "Nope"},
     SNS + "Type: Input should be 'Notification', 'SubscriptionConfirmation' or "
     "'UnsubscribeConfirmation' (got 'Nope')"),
    ({**ENVELOPE, "MessageAttributes": {"A": {"Value": "v"}}},
     SNS + "MessageAttributes.A.Type: Field required"),
    ({**ENVELOPE, "MessageAttributes": {"A": {"Type": "String", "Value": "v"},
                                        "B": {"Type": "String", "Value": [1]}}},
     SNS + "MessageAttributes.B.Value: should be text (at most 65536 characters) or a number"),
    (without(ENVELOPE, "Message"), SNS + "Message: Field required"),
], ids=["too-long", "too-short", "not-a-string", "not-a-list", "too-many", "list-item",
        "missing", "another-shape", "literal", "attribute-missing", "attribute-value",
        "envelope-missing"])
def test_a_refusal_names_the_field_what_it_should_be_and_what_came(
        doc: dict[str, Any], reason: str) -> None:
    """The field by its AWS name and its place, then what it should be, then the value."""
    with pytest.raises(DecodeError) as caught:
        decode(json.dumps(doc))
    assert str(caught.value) == reason


def test_bytes_and_str_bodies_decode_alike() -> None:
    body = json.dumps(RUNNING)
    assert decode(body.encode()) == decode(body)


def test_a_body_larger_than_any_sqs_message_is_refused_unread() -> None:
    with pytest.raises(DecodeError, match="1 MiB"):
        decode(" " * (MAX_BODY_BYTES + 1))


def test_lone_surrogates_are_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="not valid Unicode"):
        decode('{"detail-type": "\ud800", "source": "aws.backup"}')


def test_a_whole_sqs_message_needs_decode_sqs_message() -> None:
    whole = json.dumps({"MessageId": "1", "Body": json.dumps(RUNNING)})
    with pytest.raises(DecodeError, match="whole SQS message"):
        decode(whole)
    assert decode_sqs_message(whole).job_id == RUNNING["detail"]["backupJobId"]


@pytest.mark.parametrize(("doc", "reason"), [
    ({"Messages": []}, "holds 0 messages"),
    ({"Messages": [{"Body": "{}"}, {"Body": "{}"}]}, "holds 2 messages"),
    ({"MessageId": "1", "Body": 5}, "Body is not a string"),
])
def test_whole_sqs_messages_must_hold_exactly_one_body(doc: object, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        decode_sqs_message(json.dumps(doc))


def test_decoded_events_are_plain_values() -> None:
    decoded = decode(json.dumps(RUNNING))
    assert isinstance(decoded, JobEvent)
    assert decoded == decode(json.dumps(RUNNING))


# --- hostile input: nothing but DecodeError, whatever arrives --------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12)
FIELDS = ["time", "region", "account", "source", "detail-type", "resources", "detail",
          "detail.backupJobId", "detail.state", "detail.backupSizeInBytes",
          "detail.creationDate", "detail.backupVaultName", "detail.resourceArn"]


def decodes_or_refuses(body: str | bytes) -> None:
    """A JobEvent, or a DecodeError with a reason; any other exception fails the test."""
    reason = None
    try:
        result = decode_sqs_message(body)
    except DecodeError as exc:
        reason = str(exc)
    if reason is None:
        assert isinstance(result, JobEvent)
    else:
        assert reason
        assert not reason.startswith("undecodable"), reason  # the safety net is for the unforeseen


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300) | st.binary(max_size=300))
def test_arbitrary_text_and_bytes_never_raise_anything_but_decode_error(body: str | bytes) -> None:
    decodes_or_refuses(body)


@settings(max_examples=300)
@given(st.sampled_from(FIELDS), JSON)
def test_any_field_replaced_by_any_json_value_never_raises_anything_else(
        field: str, value: object) -> None:
    doc = copy.deepcopy(RUNNING)
    target = doc["detail"] if field.startswith("detail.") else doc
    target[field.removeprefix("detail.")] = value
    decodes_or_refuses(json.dumps(doc))
    decodes_or_refuses(sns(json.dumps(doc), EventType="BACKUP_JOB", State="RUNNING", Id="x"))


ENVELOPE_FIELDS = ["Type", "Message", "Timestamp", "TopicArn", "MessageAttributes",
                   "MessageAttributes.EventType", "MessageAttributes.State",
                   "MessageAttributes.Id", "MessageAttributes.StartTime"]


@settings(max_examples=200)
@given(st.sampled_from(ENVELOPE_FIELDS), JSON)
def test_any_envelope_field_replaced_by_any_json_value_never_raises_anything_else(
        field: str, value: object) -> None:
    doc = json.loads((DATA / "vault-backup-job-completed.json").read_text())
    if field.startswith("MessageAttributes."):
        doc["MessageAttributes"][field.split(".", 1)[1]] = value
    else:
        doc[field] = value
    decodes_or_refuses(json.dumps(doc))


@settings(max_examples=200)
@given(st.sampled_from(sorted(p.name for p in DATA.iterdir() if p.suffix == ".json")),
       st.data())
def test_truncated_and_corrupted_payloads_never_raise_anything_else(
        name: str, data: st.DataObject) -> None:
    raw = (DATA / name).read_bytes()
    cut = data.draw(st.integers(0, len(raw)))
    decodes_or_refuses(raw[:cut])
    flip = data.draw(st.integers(0, max(0, len(raw) - 1)))
    decodes_or_refuses(raw[:flip] + bytes([raw[flip] ^ 0xFF]) + raw[flip + 1:] if raw else raw)


@settings(max_examples=100)
@given(JSON, st.dictionaries(st.sampled_from(["EventType", "State", "Id", "StartTime", "eventType"]),
                             st.text(max_size=30), max_size=5))
def test_sns_envelopes_around_anything_never_raise_anything_else(
        message: object, attributes: dict[str, str]) -> None:
    text = message if isinstance(message, str) else json.dumps(message)
    decodes_or_refuses(sns(text, **attributes))
    decodes_or_refuses(sns("An AWS Backup job failed. BackupJob ID : " + text, **attributes))


@pytest.mark.parametrize("depth", [50, 1000, 100_000])
def test_deep_nesting_is_refused_not_a_recursion_error(depth: int) -> None:
    decodes_or_refuses("[" * depth + "]" * depth)
    decodes_or_refuses('{"detail-type": "x", "source": ' + "[" * depth + "]" * depth + "}")


@given(job_id=st.text(st.characters(codec="ascii", categories=["L", "N", "Pd"]), min_size=1,
                      max_size=64),
       state=st.sampled_from(["CREATED", "PENDING", "RUNNING", "ABORTING", "COMPLETED",
                              "FAILED", "ABORTED", "EXPIRED", "PARTIAL"]),
       size=st.integers(0, 2**63 - 1), as_text=st.booleans(), wrapped=st.booleans())
def test_valid_backup_job_events_decode_to_their_own_fields(
        job_id: str, state: str, size: int, as_text: bool, wrapped: bool) -> None:
    body = json.dumps(event(backupJobId=job_id, state=state,
                            backupSizeInBytes=str(size) if as_text else size))
    decoded = decode(sns(body) if wrapped else body)
    assert (decoded.kind, decoded.job_id, decoded.state, decoded.size_bytes) == (
        "backup_job", job_id, state, size)
