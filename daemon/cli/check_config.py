"""`ddb-backupd check-config`: the effective configuration as JSON (secrets masked), or every error.

Exit 0 with the JSON on stdout; exit 2 with one line per error on stderr, each naming the
field and the environment variable (or config-file key) that set it. Never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import Any

from daemon.cli.common import settings_or_report
from daemon.config.settings import Settings
from daemon.core.scheduling.schedule import next_run, parse_expression
from daemon.core.scheduling.schedule import next_runs as schedule_runs

DESCRIPTION = """\
Validate the configuration (BACKUPD_* environment variables and the YAML file named by
BACKUPD_CONFIG_FILE) exactly as `ddb-backupd run` would. When it is valid, print it as JSON
with secrets masked, plus the next run of every schedule and scheduled export; when it is
not, list every error, each naming the field and the variable or file key that set it.

  BACKUPD_CONFIG_FILE=config.yaml ddb-backupd check-config
  docker run --rm --env-file my.env IMAGE check-config"""

EXIT_CODES = {
    0: "The configuration is valid: it is printed as JSON on stdout.",
    2: "The configuration is invalid (every error listed on stderr), or --now is not an "
       "ISO 8601 time.",
}


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", metavar="ISO8601",
                        help="Reference time of the next runs (default: now).")


def run(args: argparse.Namespace) -> int:
    settings = settings_or_report()
    if settings is None:
        return 2
    now = _parse_now(args.now)
    if now is None:
        print(f"--now: not an ISO 8601 time: {args.now!r}", file=sys.stderr)
        return 2
    print(json.dumps(effective(settings, now), indent=2, sort_keys=True, default=str))
    return 0


def effective(settings: Settings, now: datetime) -> dict[str, Any]:
    """The configuration as JSON with secrets masked, plus the next run of every schedule."""
    out: dict[str, Any] = settings.model_dump(mode="json")
    out["next_runs"] = next_runs(settings, now)
    return out


def next_runs(settings: Settings, now: datetime) -> dict[str, str | None]:
    """Next run of each backup schedule and scheduled export (`export:<rule>`)."""
    runs: dict[str, str | None] = {}
    for spec in settings.schedules:
        runs[spec.name] = _iso(next_run(spec, now))
    for rule in settings.exports:
        if rule.schedule:
            upcoming = schedule_runs(parse_expression(rule.schedule, rule.timezone), now, 1)
            runs[f"export:{rule.name}"] = _iso(upcoming[0] if upcoming else None)
    return runs


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at else None


def _parse_now(text: str | None) -> datetime | None:
    if not text:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
