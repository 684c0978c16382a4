"""`ddb-backupd decode [FILE|-]`: the daemon's decoder as a tool.

Paste a message from the dead-letter queue to see what the daemon makes of it, or why it
refused it. Takes one SQS message body, or a whole SQS message as `aws sqs receive-message`
prints it (with `Body`). Prints one JSON object; exit 0 when decoded (ignored included),
1 with the reason on stderr when not, never a traceback. Imports only the pure core, so it
starts fast (no aioboto3).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.core.errors import DecodeError
from daemon.core.events.decode import MAX_BODY_BYTES, JobEvent, decode_sqs_message

KEYS = ("kind", "job_id", "state", "resource_arn", "resource_type", "vault", "region", "account",
        "size_bytes", "time", "reason")
EXTRA_KEYS = ("source", "recovery_point_arn", "created_resource_arn", "creation_date",
              "status_message")

DESCRIPTION = """\
Decode one SQS message as the daemon would, to see what it makes of a message (one from the
dead-letter queue, say) or why it refuses it. The input is one SQS message body, or a whole
message as `aws sqs receive-message` prints it (with its Body). Prints one JSON object: the
job event's kind, job id, state, resource, vault, region, account, size and time.

  aws sqs receive-message --queue-url URL-OF-THE-DLQ | ddb-backupd decode"""

EXIT_CODES = {
    0: "Decoded (or recognised and ignored): the event is printed as JSON on stdout.",
    1: "Not decodable, or the file cannot be read: the reason is on stderr.",
}


def add_parser(parser: argparse.ArgumentParser) -> None:
    """Declare this command's arguments."""
    parser.add_argument("file", nargs="?", default="-", metavar="FILE|-",
                        help="File holding the message (default '-': standard input).")
    parser.add_argument("--all", action="store_true", dest="all_fields",
                        help="Also print source, recovery_point_arn, created_resource_arn, "
                             "creation_date and status_message.")


def run(args: argparse.Namespace) -> int:
    """Decode the message; print it as JSON (exit 0) or say why not on stderr (exit 1)."""
    try:
        raw = _read(args.file)
        event = decode_sqs_message(raw)
    except (OSError, DecodeError) as exc:
        print(f"ddb-backupd decode: {exc}", file=sys.stderr)
        return 1
    keys = KEYS + EXTRA_KEYS if args.all_fields else KEYS
    try:
        print(json.dumps(as_json(event, keys), indent=2))
    except BrokenPipeError:  # `| head` closed early: not an error of the input
        sys.stderr.close()
    return 0


def as_json(event: JobEvent, keys: tuple[str, ...] = KEYS) -> dict[str, Any]:
    """The event's fields as JSON values; times as ISO 8601 UTC with Z."""
    return {key: _value(getattr(event, key)) for key in keys}


def _value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _read(name: str) -> bytes:
    """The input's bytes, read no further than the largest message we would accept + 1."""
    if name == "-":
        return sys.stdin.buffer.read(MAX_BODY_BYTES + 1)
    path = Path(name)
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_BODY_BYTES + 1)
    except OSError as exc:
        raise OSError(f"cannot read {name}: {exc.strerror or exc}") from None
