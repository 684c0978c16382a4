"""`ddb-backupd plan`: what the schedules would back up and what retention would delete, and why.

Offline, to check a policy without AWS:
    ddb-backupd plan --backups FILE.json --policy JSON --now ISO8601 [--timezone TZ]
FILE.json (or `-` for stdin) is a JSON array of
`{"arn", "created": ISO8601, "status": "AVAILABLE"|"CREATING"|"DELETED", "owned": bool}`;
one JSON object per backup is printed, newest first: `{"arn", "action", "reasons", "created"}`.

Against AWS (the configured account, or the stand-in through BACKUPD_AWS__ENDPOINT_URL):
    ddb-backupd plan [--now ISO8601]
one line per schedule (`next_run`, the tables it selects), then one line per backup that
retention decides on, then one per table late for its schedule or in a coverage gap, then
one line per configured backup plan (`backup_plan`, its `state`, the `changes` field by field
and the `steps` that would make them). Nothing is created, changed or deleted. Bad input
exits 2 naming the field.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from daemon.cli.next_runs import iso_z, parse_time
from daemon.core.scheduling.retention import BackupRecord, Decision, RetentionPolicy, select
from daemon.core.scheduling.schedule import ScheduleError, load_zone

DEFAULT_MAX_DELETES = 100

DESCRIPTION = """\
Show what the schedules would back up and what retention would delete, and why, without
creating or deleting anything.

Against AWS (the configured account, or the stand-in with BACKUPD_AWS__ENDPOINT_URL), one
JSON line per schedule (its next run and the tables it selects), then one per backup that
retention decides on, then one per table that is late for its schedule or in a coverage gap
({"gap": "late"|"unselected"|"pitr_off"|"rpo_breached", "table", ...}):
  ddb-backupd plan [--now ISO8601]

Offline, to try a retention policy on a list of backups of one table:
  ddb-backupd plan --backups FILE.json --policy JSON [--now ISO8601] [--timezone ZONE]
FILE.json ('-' for stdin) is a JSON array of {"arn", "created": ISO8601, "status":
"AVAILABLE"|"CREATING"|"DELETED", "owned": true|false}; one JSON line per backup is
printed, newest first: {"arn", "action", "reasons", "created"}."""

EXIT_CODES = {
    0: "The plan is printed (nothing to plan without an enabled schedule).",
    1: "An AWS call failed (against AWS only): the error is on stderr.",
    2: "The input or the configuration is invalid: the field is named on stderr.",
}


class BackupRow(BaseModel):
    """One backup of the offline input file."""

    model_config = ConfigDict(extra="forbid")

    arn: str
    created: datetime
    status: Literal["AVAILABLE", "CREATING", "DELETED"]
    owned: bool


ROWS = TypeAdapter(list[BackupRow])


class InputError(ValueError):
    """Bad input; the message names the field."""


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backups", metavar="FILE", help="Offline: JSON array of backups "
                        "of one table ('-' reads stdin). Without it, plan against AWS.")
    parser.add_argument("--policy", metavar="JSON", help="Offline: retention policy, e.g. "
                        '\'{"keep_last": 2, "keep_daily": 7}\'.')
    parser.add_argument("--now", metavar="ISO8601", help="Reference time (default: now).")
    parser.add_argument("--timezone", default="UTC", metavar="ZONE",
                        help="Offline: IANA time zone of the daily, weekly, ... periods "
                        "(default UTC).")
    parser.add_argument("--max-deletes", type=int, default=DEFAULT_MAX_DELETES, metavar="N",
                        help="Offline: the per-run deletion cap (default 100).")


def run(args: argparse.Namespace) -> int:
    try:
        if args.backups is None:
            return _online(args)
        lines = plan_offline(args)
    except InputError as exc:
        print(f"invalid input: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(json.dumps(line))
    return 0


def _online(args: argparse.Namespace) -> int:
    if args.policy is not None:
        raise InputError("--policy: only with --backups (online, each schedule's policy "
                         "comes from the configuration)")
    from daemon.cli.plan_online import plan_against_aws  # noqa: PLC0415 - aioboto3 only here

    return asyncio.run(plan_against_aws(_now(args.now, "UTC")))


def plan_offline(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The decisions for the offline input, newest first, as JSON-ready dicts."""
    if args.policy is None:
        raise InputError("--policy: required with --backups")
    if args.max_deletes < 0:
        raise InputError("--max-deletes: must not be negative")
    try:
        zone = load_zone(args.timezone)
    except ScheduleError as exc:
        raise InputError(f"--timezone: {exc}") from exc
    now = _now(args.now, args.timezone)
    policy = _policy(args.policy)
    rows = _rows(args.backups)
    records = [BackupRecord(r.arn, _aware(r.created), r.status, r.owned) for r in rows]
    decisions = select(records, policy, now, zone, max_deletes=args.max_deletes)
    return [decision_json(d) for d in decisions]


def decision_json(decision: Decision) -> dict[str, Any]:
    return {"arn": decision.arn, "action": decision.action, "reasons": list(decision.reasons),
            "created": iso_z(decision.created)}


def _now(text: str | None, zone: str) -> datetime:
    value = parse_time(text, load_zone(zone))
    if value is None:
        raise InputError(f"--now: not an ISO 8601 time: {text!r}")
    return value


def _policy(text: str) -> RetentionPolicy:
    try:
        return RetentionPolicy.model_validate_json(text)
    except ValidationError as exc:
        raise InputError(_first_error("policy", exc)) from exc


def _rows(path: str) -> list[BackupRow]:
    try:
        raw = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--backups: cannot read {path}: {exc.strerror}") from exc
    try:
        return ROWS.validate_json(raw)
    except ValidationError as exc:
        raise InputError(_first_error("backups", exc)) from exc


def _first_error(what: str, exc: ValidationError) -> str:
    """`backups[3].created: Input should be a valid datetime` (+ how many more)."""
    errors = exc.errors()
    first = errors[0]
    path = what + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{path}: {first['msg']}{more}"


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
