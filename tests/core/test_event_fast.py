"""The decoder's fast path (msgspec Structs) answers exactly as the wire models would, or not at all.

The oracle is `decode_reference`, the pydantic path. For fixtures, realistic bodies and
mutations of them (any field of either layer replaced, removed or repeated, text cut or
corrupted), `fast_decode` either returns the very JobEvent the models make, or None; and
`decode`, which takes the fast path first, returns what the reference returns or raises the
same DecodeError.
"""

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

from daemon.core.errors import DecodeError
from daemon.core.events.decode import JobEvent, decode, decode_reference
from daemon.core.events.fast import fast_decode
from daemon.core.events.job import timestamp
from daemon.core.events.notifications import RESOURCE_RE, _arn

DATA = Path(__file__).parent.parent / "data" / "events"
FIXTURES = sorted(p for p in DATA.iterdir() if p.suffix == ".json" and p.name != "expected.json")
EXPECTED: dict[str, dict[str, Any]] = json.loads((DATA / "expected.json").read_text())
TRACKED = ("backup_job", "restore_job", "copy_job", "recovery_point")


def outcome(body: str | bytes) -> JobEvent | str:
    """What the reference makes of a body: the event, or the DecodeError's text."""
    try:
        return decode_reference(body)
    except DecodeError as exc:
        return f"DecodeError: {exc}"


def agrees(body: str) -> None:
    """The fast path is silent or right, and decode says what the reference says."""
    want = outcome(body)
    fast = fast_decode(body)
    if fast is not None:
        assert fast == want
        assert fast.time.tzinfo is UTC
    try:
        got: JobEvent | str = decode(body)
    except DecodeError as exc:
        got = f"DecodeError: {exc}"
    assert got == want


# --- the fast path answers for what AWS sends -------------------------------------------------

@pytest.mark.parametrize("name", [n for n, v in sorted(EXPECTED.items())
                                  if v.get("kind") in TRACKED and not n.startswith(("sqs", "lambda"))])
def test_every_job_event_fixture_takes_the_fast_path_to_the_same_event(name: str) -> None:
    body = (DATA / name).read_text()
    assert fast_decode(body) is not None
    agrees(body)


@pytest.mark.parametrize("path", [*FIXTURES, DATA / "bad-not-json.txt", DATA / "bad-empty.txt",
                                  DATA / "bad-raw-delivery-vault-text.txt"], ids=lambda p: p.name)
def test_every_fixture_decodes_alike_on_both_paths(path: Path) -> None:
    agrees(path.read_text())


# --- mutations: any field of either layer, any JSON value --------------------------------------

KEYS = ["version", "id", "detail-type", "source", "account", "time", "region", "resources",
        "detail", "backupJobId", "state", "status", "backupVaultName", "backupVaultArn",
        "resourceArn", "resourceType", "backupSizeInBytes", "recoveryPointArn", "creationDate",
        "statusMessage", "restoreJobId", "sourceResourceArn", "createdResourceArn", "copyJobId",
        "sourceBackupVaultArn", "destinationBackupVaultArn", "destinationRecoveryPointArn",
        "Type", "Message", "MessageId", "TopicArn", "Subject", "Timestamp", "MessageAttributes",
        "Signature", "SignatureVersion", "SigningCertURL", "UnsubscribeURL", "SequenceNumber",
        "Value", "EventType", "State", "Id", "StartTime", "detail_type", "unknownField"]
EDGE_TEXT = ["", "a", "a" * 64, "a" * 65, "a" * 1024, "a" * 1025, "a" * 2048, "a" * 2049,
             "\U0001f600" * 1025, "1" * 19, "1" * 20, "9" * 19, "123\n", " 1", "\uff11",
             "0001048576", "2026-03-01T05:00:00Z", "2026-03-01T07:00:00.5+02:00",
             "2026-03-01 05:00:00", "1795496409", "yesterday", "COMPLETED", "completed",
             "RUNNING", "CREATED", "EXPIRED", "Notification", "SubscriptionConfirmation",
             "aws.backup", "Backup Job State Change", "Restore Job State Change",
             "Copy Job State Change", "Recovery Point State Change", "Backup Plan State Change",
             "{}", '{"a": 1}', "arn:aws:backup:eu-west-1:111122223333:backup-vault:ops",
             "arn:aws:backup:eu-west-1:111122223333:recovery-point:x"]
EDGE_NUMBERS = [0, -1, 1, 2**63 - 1, 2**63, 2**64, -(2**63), 10**400, 1.0, 1.5, -0.0,
                1795496409, 1795496409.0, 1e300, float("nan"), float("inf")]
SCALARS = (st.sampled_from(EDGE_TEXT) | st.sampled_from(EDGE_NUMBERS) | st.text(max_size=12)
           | st.integers() | st.floats() | st.booleans() | st.none())
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner,
                                        max_size=3), max_leaves=8)


def deep(levels: int) -> Any:
    """Arrays (odd) or objects (even) nested `levels` deep."""
    value: Any = []
    for _ in range(levels):
        value = [value] if levels % 2 else {"a": value}
    return value


LONG_NUMBER = "\x00long number\x00"  # json.dumps writes no int over 4300 digits: put in after
HOSTILE = st.sampled_from([deep, deep, deep, lambda _: LONG_NUMBER, lambda _: 10**4299]).flatmap(
    lambda make: st.sampled_from([199, 210, 900]).map(make))  # built afresh: later draws mutate


def dumps(doc: Any) -> str:
    return json.dumps(doc).replace(json.dumps(LONG_NUMBER), "9" * 4400)


def containers(doc: Any, depth: int = 4) -> list[dict[str, Any]]:
    """The JSON objects in `doc` down to `depth` levels, outermost first."""
    if depth == 0:
        return []
    if isinstance(doc, dict):
        return [doc] + [c for v in doc.values() for c in containers(v, depth - 1)]
    if isinstance(doc, list):
        return [c for v in doc for c in containers(v, depth - 1)]
    return []


def seeds() -> list[Any]:
    docs = []
    for path in FIXTURES:
        try:
            doc = json.loads(path.read_text())
        except (ValueError, RecursionError):  # the bad-* fixtures that are not JSON
            continue
        if isinstance(doc, dict) and "Body" not in doc and "Messages" not in doc:
            docs.append(doc)
    return docs


SEEDS = seeds()


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A fixture with 1-3 of its (or its SNS Message's) objects changed, as a body."""
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    message = doc.get("Message")
    inner = None
    if isinstance(message, str) and message.startswith("{") and draw(st.booleans()):
        try:
            inner = json.loads(message)
        except ValueError:  # a truncated Message: mutate the envelope instead
            inner = None
    target = doc if inner is None else inner
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(containers(target)))
        key = draw(st.sampled_from(sorted(where) + KEYS))
        action = draw(st.sampled_from(["set", "set", "set", "hostile", "delete"]))
        if action == "delete":
            where.pop(key, None)
        else:
            where[key] = draw(HOSTILE if action == "hostile" else VALUES)
    if inner is not None:
        doc["Message"] = _dumps(inner, draw)
    return _dumps(doc, draw)


def _dumps(doc: Any, draw: st.DrawFn) -> str:
    """JSON text, sometimes with a key repeated before or after its first occurrence."""
    text = dumps(doc)
    if isinstance(doc, dict) and draw(st.integers(0, 4)) == 0:
        repeat = f"{json.dumps(draw(st.sampled_from(KEYS)))}: {json.dumps(draw(SCALARS))}"
        text = ("{" + repeat + ", " + text[1:] if draw(st.booleans()) or text == "{}"
                else text[:-1] + ", " + repeat + "}")
    return text


@settings(max_examples=600, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated())
@example(json.dumps({"Type": "Notification", "Message": "{}", "Timestamp": "x"}))
def test_mutated_bodies_decode_alike_on_both_paths(body: str) -> None:
    agrees(body)


JUNK = [*'{}[]",:\\ \n\t\x00x0-.eE', "NaN", "\\ud800", "\ud800"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FIXTURES), st.data())
def test_cut_and_corrupted_text_decodes_alike_on_both_paths(path: Path, data: st.DataObject) -> None:
    text = path.read_text()
    at = data.draw(st.integers(0, len(text)))
    agrees(text[:at])
    junk = data.draw(st.sampled_from(JUNK))
    agrees(text[:at] + junk + text[at + 1:])


# --- what msgspec's JSON parser accepts and pydantic's (jiter) does not -------------------------

def running(**extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((DATA / "eb-backup-job-dynamodb-running.json").read_text())
    doc["detail"].update(extra)
    return doc


def wrapped(message: str) -> str:
    return json.dumps({"Type": "Notification", "Message": message,
                       "Timestamp": "2026-11-24T05:00:10.000Z"})


@pytest.mark.parametrize("body", [
    json.dumps(running(unknown=deep(250))),  # deeper than jiter's 200 levels
    dumps(running(unknown=LONG_NUMBER)),  # more digits than jiter reads
    json.dumps(running(unknown=float("nan"))),  # NaN: jiter reads it, msgspec does not
    json.dumps(running())[:-1] + ', "detail": 5}',  # the repeated key that counts comes last
    '{"detail": 5, ' + json.dumps(running())[1:],  # ... and one before it is not even read
    json.dumps(running(backupSizeInBytes="123\n")),  # Python's $ would match before \n
    json.dumps(running(backupSizeInBytes=True)),
    json.dumps(running(backupJobId="\U0001f600" * 1024)),  # characters, not bytes
    json.dumps(running(backupVaultName="\ud800")),  # an escaped lone surrogate
    json.dumps(running(creationDate=1795496409)),  # epoch seconds: the models' to read
    wrapped(json.dumps(running(unknown=deep(250)))),
    wrapped("\u00a0" + json.dumps(running())),  # not JSON whitespace, but str.lstrip's
    wrapped(json.dumps(running())).replace('"Type"', '"Type": "x", "Type"'),
    wrapped("BackupJob ID : x").replace('"Message"', '"MessageAttributes": {"A": 1, "A": '
                                        '{"Type": "String", "Value": "v"}}, "Message"'),
], ids=["deep", "long-number", "nan", "repeat-last", "repeat-first", "newline-digits", "bool-size",
        "astral", "surrogate", "epoch", "sns-deep", "nbsp", "repeat-type", "repeat-attribute"])
def test_inputs_the_two_json_parsers_see_differently_decode_alike(body: str) -> None:
    agrees(body)


def test_a_vault_notification_takes_the_fast_path_with_its_attributes() -> None:
    body = (DATA / "vault-backup-job-completed.json").read_text()
    event = fast_decode(body)
    assert event is not None
    assert event == decode_reference(body)


# --- the pieces the fast path made faster, against what they replaced --------------------------

LAZY = re.compile(r"Resource ARN\s?:\s?(arn:\S+?)\.?(?=\s|$)")


@given(st.text(st.sampled_from("arn:Resource ARN .\n\tx/"), max_size=40))
@example("Resource ARN : arn:.")
@example("Resource ARN : arn:x.. rest")
def test_reading_an_arn_in_one_pass_finds_what_the_lazy_pattern_found(tail: str) -> None:
    text = "Resource ARN : " + tail
    match, lazy = RESOURCE_RE.search(text), LAZY.search(text)
    assert (None if match is None else _arn(match.group(1))) == (
        None if lazy is None else lazy.group(1))


OFFSETS = st.builds(timezone, st.timedeltas(min_value=-timedelta(hours=23, minutes=59),
                                            max_value=timedelta(hours=23, minutes=59)))


@given(st.datetimes(timezones=st.just(UTC)) | st.datetimes(
    min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31), timezones=OFFSETS)
    | st.datetimes())
def test_a_timestamp_is_its_instant_in_utc_whatever_the_offset(when: datetime) -> None:
    parsed = timestamp(when.isoformat(), "time")
    assert parsed == (when if when.tzinfo is not None else when.replace(tzinfo=UTC))
    assert parsed.tzinfo is UTC
