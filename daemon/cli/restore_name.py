"""`ddb-backupd restore-name`: the table name a restore rule gives a backup, one line.

Lets an operator try a rule (Go replacement syntax: `$0`, `$1`, `${name}`, `$$`) before
putting it into the config. Exit 0 with the name; exit 2 with the reason on stderr when
the pattern does not match or the result is not a valid DynamoDB table name.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime

from daemon.core.tasks.naming import NamingError, check_rule, restore_name

DESCRIPTION = """\
Print the table name a restore rule gives a backup of a table: the source pattern's match
replaced (Go template syntax: $0, $1, ${name}, $$), plus the backup's creation time as
-YYYYMMDD-HH-mm-ss. Try a rule here before putting it in the configuration.

  ddb-backupd restore-name --source-pattern '(?i)-production$' --replacement -staging \\
    --table orders-production --at 2026-11-24T05:06:07Z"""

EXIT_CODES = {
    0: "The restored table's name is printed (warnings about the rule, if any, on stderr).",
    2: "The pattern does not match the table, the result is not a valid DynamoDB table "
       "name, or --at is not an ISO 8601 time: the reason is on stderr.",
}


def add_parser(parser: argparse.ArgumentParser) -> None:
    """Declare this command's arguments."""
    # Patterns and replacements often start with '-' ('-prod$'): let argparse take such a
    # word as a value, as it does for negative numbers, instead of an unknown option.
    parser._negative_number_matcher = re.compile(r"^-.")
    parser.add_argument("--source-pattern", required=True,
                        help="Regular expression on the source table name, e.g. "
                        "'(?i)-production$'.")
    parser.add_argument("--replacement", required=True,
                        help="Go replacement template, e.g. '-staging' or '${1}-copy'.")
    parser.add_argument("--table", required=True, help="Name of the source table.")
    parser.add_argument("--at", default=None, metavar="ISO8601",
                        help="Creation time of the backup (default: now); UTC without an "
                        "offset.")


def run(args: argparse.Namespace) -> int:
    """Print the restored table's name; 2 with the reason when there is none."""
    try:
        created = _parse_time(args.at)
    except ValueError as exc:
        print(f"--at: {exc}", file=sys.stderr)
        return 2
    for problem in check_rule(args.source_pattern, args.replacement):
        print(f"warning: {problem}", file=sys.stderr)
    try:
        name = restore_name(args.source_pattern, args.replacement, args.table, created)
    except NamingError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(name)
    return 0


def _parse_time(text: str | None) -> datetime:
    """ISO 8601 (a trailing `Z` allowed); a time without an offset is taken as UTC."""
    if text is None:
        return datetime.now(UTC)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
