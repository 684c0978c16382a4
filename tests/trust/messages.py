"""Generated and mutated SQS message bodies, seeded from the real AWS payloads in tests/data.

Hypothesis draws the plan (which seed, which mutator, a 32-bit seed); a seeded `Random` does
the cutting and splicing. Drawing every character through hypothesis costs ~10 ms a message;
this costs ~0.1 ms, which is what makes 10 000 messages fit in a CI test. A failure still
replays exactly: hypothesis prints the drawn plan.
"""

from __future__ import annotations

import json
import random
import string
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

EVENTS = Path(__file__).resolve().parents[1] / "data" / "events"
# Bodies as SQS holds them: text (the one non-UTF-8 sample read as Latin-1).
SEEDS = sorted(p.read_bytes().decode("latin-1") if p.suffix == ".bin" else p.read_text("utf-8")
               for p in EVENTS.iterdir() if p.name not in ("README.md", "expected.json"))
STATES = ["CREATED", "PENDING", "RUNNING", "ABORTING", "ABORTED", "COMPLETED", "FAILED",
          "EXPIRED", "PARTIAL", "completed", ""]
DETAIL_TYPES = ["Backup Job State Change", "Restore Job State Change", "Copy Job State Change",
                "Recovery Point State Change", "Backup Plan State Change", "Other"]
ODD = ["", " ", "null", "\u0000", "\u202e", "\U0001f4a5", "é", "\\", '"', "\n", "💾" * 40,
       "2026-11-24T05:00:09Z", "Jul 15, 2020 9:39:07 PM", "1e999", "-1", "NaN",
       "arn:aws:dynamodb:us-east-1:123456789012:table/orders", "arn:aws:dynamodb:::table/x"]


def paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside a JSON document."""
    out = [prefix]
    if isinstance(doc, dict):
        for key, value in doc.items():
            out += paths(value, (*prefix, key))
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            out += paths(value, (*prefix, index))
    return out


def _loads(text: str) -> Any:
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return doc if len(paths(doc)) < 500 else None  # the deeply nested one: text mutation only


JSON_SEEDS = [(doc, paths(doc)) for doc in map(_loads, SEEDS) if isinstance(doc, dict)]


def random_text(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return rng.choice(ODD)
    alphabet = string.printable + "äß€\u00a0\u2028\ud7ff\ue000\U00010348"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))


def random_value(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value of any type, biased to the edges: huge, negative, empty, odd text."""
    pick = rng.randrange(10 if depth < 2 else 7)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, -1, 1, 2**31, 2**63, 2**64 + 1, -(2**70), rng.randint(-9, 10**15)])
    if pick == 3:
        return rng.choice([0.5, -0.0, 1e308, -1e-308, rng.uniform(-1e6, 1e6)])
    if pick in (4, 5):
        return random_text(rng)
    if pick == 6:
        return rng.choice(STATES)
    if pick in (7, 8):
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {random_text(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def replaced(doc: Any, path: tuple[Any, ...], how: str, value: Any) -> Any:
    """A copy of `doc` with the value at `path` replaced, deleted or stringified."""
    if not path:
        return json.dumps(doc) if how == "stringify" else value
    head, rest = path[0], path[1:]
    copy = dict(doc) if isinstance(doc, dict) else list(doc)
    if not rest and how == "delete":
        del copy[head]
        return copy
    copy[head] = replaced(doc[head], rest, how, value)
    return copy


def json_mutation(rng: random.Random) -> str:
    """A real payload with one to three values replaced, deleted or turned into strings,
    sometimes wrapped in an SNS envelope."""
    doc, where = rng.choice(JSON_SEEDS)
    for _ in range(rng.randint(1, 3)):
        path, how = rng.choice(where), rng.choice(["replace", "replace", "delete", "stringify"])
        try:
            doc = replaced(doc, path, "replace" if how == "delete" and not path else how,
                           random_value(rng))
        except (KeyError, IndexError, TypeError):  # an earlier mutation removed this path
            continue
    if rng.random() < 0.3 and isinstance(doc, dict) and "Type" not in doc:
        doc = {"Type": "Notification", "MessageId": "m", "Message": json.dumps(doc),
               "TopicArn": "arn:aws:sns:us-east-1:123456789012:t",
               "Timestamp": "2026-11-24T05:00:10.000Z"}
    return json.dumps(doc, ensure_ascii=rng.random() < 0.5)


def text_mutation(rng: random.Random) -> str:
    """A real payload cut, spliced or with characters changed (a broken producer's output)."""
    text = rng.choice(SEEDS)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(text))
        op = rng.choice(["cut", "insert", "flip", "truncate"])
        if op == "truncate":
            text = text[:at]
        elif op == "cut":
            text = text[:at] + text[at + rng.randint(1, 20):]
        elif op == "insert":
            text = text[:at] + random_text(rng) + text[at:]
        else:
            text = text[:at] + random_text(rng)[:1] + text[at + 1:]
    return text


def generated_event(rng: random.Random) -> str:
    """An EventBridge-shaped event with random detail: plausible and implausible fields mixed."""
    fields: dict[str, Any] = {
        "backupJobId": random_text(rng), "restoreJobId": random_text(rng),
        "copyJobId": random_text(rng), "state": rng.choice(STATES),
        "status": rng.choice(STATES), "resourceArn": random_value(rng),
        "resourceType": rng.choice(["DynamoDB", "RDS", "", "x"]),
        "backupVaultName": random_text(rng), "backupSizeInBytes": random_value(rng),
        "creationDate": random_value(rng)}
    detail = {k: v for k, v in fields.items() if rng.random() < 0.6}
    return json.dumps({
        "version": "0", "id": random_text(rng), "account": "123456789012",
        "source": rng.choice(["aws.backup", "aws.backup", "aws.ec2", ""]),
        "detail-type": rng.choice(DETAIL_TYPES), "region": "us-east-1", "resources": [],
        "time": rng.choice(["2026-11-24T05:00:09Z", random_value(rng)]), "detail": detail})


MUTATORS = {"json": json_mutation, "text": text_mutation, "generated": generated_event}


def _build(plan: tuple[str, int]) -> str:
    mutator, seed = plan
    return MUTATORS[mutator](random.Random(seed))


# Weighted towards payloads close to real ones, so the accepted path is fuzzed as much as the
# refused one. Plain hypothesis text covers the "anything at all" corner.
MESSAGES = st.one_of(
    st.sampled_from(SEEDS),
    st.tuples(st.sampled_from(["json", "json", "json", "text", "generated"]),
              st.integers(0, 2**32 - 1)).map(_build),
    st.text(max_size=200),
)
