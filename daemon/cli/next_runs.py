"""`ddb-backupd next-runs EXPRESSION [--count N] [--from ISO8601] [--timezone TZ]`.

Prints the next N run times (default 5) strictly after `--from` (default now), one per
line, in UTC with a `Z`: exactly the slots the scheduler would run. An invalid expression
or time zone exits 2 with AWS's reason on stderr.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from daemon.core.scheduling.schedule import ScheduleError, load_zone, next_runs, parse_expression

DESCRIPTION = """\
Print the next run times of a schedule expression in AWS syntax, one per line in UTC: the
slots the scheduler would run, to check an expression before putting it in a schedule.

  ddb-backupd next-runs 'cron(30 2 * * ? *)' --timezone Europe/Dublin --count 3
  ddb-backupd next-runs 'rate(6 hours)'"""

EXIT_CODES = {
    0: "The run times are printed (fewer than --count when the expression's years end).",
    2: "The expression, --timezone, --from or --count is invalid: AWS's reason is on stderr.",
}


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("expression", help="A cron(...) or rate(...) expression, in AWS syntax.")
    parser.add_argument("--count", type=int, default=5, metavar="N",
                        help="How many runs (default 5).")
    parser.add_argument("--from", dest="start", metavar="ISO8601",
                        help="Runs strictly after this time (default now; without an offset "
                        "it is read in --timezone).")
    parser.add_argument("--timezone", default="UTC", metavar="ZONE",
                        help="IANA time zone of cron() (default UTC).")


def run(args: argparse.Namespace) -> int:
    try:
        zone = load_zone(args.timezone)
        expression = parse_expression(args.expression, args.timezone)
    except ScheduleError as exc:
        print(f"invalid expression: {exc}", file=sys.stderr)
        return 2
    start = parse_time(args.start, zone)
    if start is None:
        print(f"--from: not an ISO 8601 time: {args.start!r}", file=sys.stderr)
        return 2
    if args.count < 1:
        print("--count: must be at least 1", file=sys.stderr)
        return 2
    runs = next_runs(expression, start, args.count)
    for moment in runs:
        print(iso_z(moment))
    if len(runs) < args.count:
        print(f"only {len(runs)} run(s) left: the expression's years end", file=sys.stderr)
    return 0


def parse_time(text: str | None, zone: ZoneInfo) -> datetime | None:
    """An ISO 8601 time (aware; naive ones are read in `zone`); now when `text` is None."""
    if text is None:
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=zone)


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
