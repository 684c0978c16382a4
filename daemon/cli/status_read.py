"""What `status` and `get` share: reading a daemon's /status, and writing its values for people.

Only the standard library and PyYAML: these commands run inside the daemon's container
(`kubectl exec`, ECS Exec) and must start fast, without aioboto3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import yaml

from daemon.core.text import duration

URL_HELP = ("The daemon's HTTP address (default http://127.0.0.1:9102, or the port in "
            "BACKUPD_HTTP__PORT), as inside its pod or task.")


class Unreachable(Exception):  # noqa: N818 - what happened, not an error class name
    """No /status document came from the daemon; the message says why."""


def default_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('BACKUPD_HTTP__PORT') or 9102}"


def add_common(parser: argparse.ArgumentParser) -> None:
    """--url, --timeout and -o, the options of every command that reads /status."""
    parser.add_argument("--url", default=None, metavar="URL", help=URL_HELP)
    parser.add_argument("--timeout", type=float, default=5.0, metavar="S",
                        help="Seconds to wait for the daemon's answer (default 5).")
    parser.add_argument("-o", "--output", choices=("table", "json", "yaml"), default="table",
                        help="Output format: aligned text (the default), or the data as JSON "
                        "or YAML for scripts.")


def fetch(url: str | None, timeout: float) -> dict[str, Any]:
    """The daemon's /status document; Unreachable (with the reason) when there is none."""
    address = f"{(url or default_url()).rstrip('/')}/status"
    if not address.startswith(("http://", "https://")):
        raise Unreachable(f"--url must be an http:// or https:// address, not {url!r}")
    try:
        with urllib.request.urlopen(address, timeout=timeout) as answer:  # noqa: S310 - an operator's URL
            body = answer.read()
    except urllib.error.HTTPError as exc:
        raise Unreachable(f"{address} answered HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise Unreachable(f"cannot reach {address}: {reason}") from None
    try:
        document = json.loads(body)
    except ValueError:
        raise Unreachable(f"{address} did not answer with JSON") from None
    if not isinstance(document, dict) or not {"version", "generated_at",
                                               "components"} <= set(document):
        raise Unreachable(f"{address} did not answer with a ddb-backupd /status document")
    return document


def read(args: argparse.Namespace, command: str) -> dict[str, Any] | None:
    """The /status document --url names; None, with the reason on stderr, when there is none."""
    try:
        return fetch(args.url, args.timeout)
    except Unreachable as exc:
        print(f"ddb-backupd {command}: {exc}", file=sys.stderr)
        return None


def not_ready(document: dict[str, Any]) -> list[str]:
    """'component: why' for every component that is not ready."""
    return [f"{name}: {h.get('detail') or 'not ready'}"
            for name, h in document["components"].items() if not h.get("ready")]


def dump(data: Any, output: str) -> str:
    """`data` as JSON or YAML text."""
    if output == "json":
        return json.dumps(data, indent=2)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip("\n")


def seconds_between(earlier: str | None, later: str) -> float | None:
    """Seconds from one /status time to another (None when the first is None)."""
    if earlier is None:
        return None
    return (_time(later) - _time(earlier)).total_seconds()


def ago(moment: str | None, now: str) -> str:
    """`5m10s ago`, `in 30s`, or `-`."""
    delta = seconds_between(moment, now)
    if delta is None:
        return "-"
    return f"{duration(delta)} ago" if delta >= 0 else f"in {duration(-delta)}"


def percent(part: int, whole: int) -> int:
    return round(100 * part / whole) if whole > 0 else 0


def freshness_split(schedule: dict[str, Any]) -> dict[str, int]:
    """A schedule's tables as good, late and never, one state each (as the status page counts
    them): never = no good backup known; late = one, but too old; good = the rest. Exact while
    every late table is listed (20 per schedule)."""
    late_never = sum(1 for t in schedule["late_tables"] if t["last_backup"] is None)
    late = max(0, schedule["late"] - late_never)
    never = schedule["without_backup"]
    return {"good": max(0, schedule["tables"] - late - never), "late": late, "never": never}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An aligned table, `kubectl get` style: upper-case headers, three spaces between."""
    lines = [[h.upper() for h in headers],
             *[["-" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    return "\n".join("   ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)
