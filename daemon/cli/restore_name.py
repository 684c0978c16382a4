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


def add_parser(parser: argparse.ArgumentParser) -> None:
    """Declare this command's arguments."""
    # Patterns and replacements often start with '-' ('-prod$'): let argparse take such a
    # word as a value, as it does for negative numbers, instead of an unknown option.
    parser._negative_number_matcher = re.compile(r"^-.")
    parser.add_argument("--source-pattern", required=True,
                        help="regular expression on the source table name, e.g. '(?i)-production$'")
    parser.add_argument("--replacement", required=True,
                        help="Go replacement template, e.g. '-staging' or '${1}-copy'")
    parser.add_argument("--table", required=True, help="source table name")
    parser.add_argument("--at", default=None,
                        help="backup creation time, ISO 8601 (default: now); UTC when no offset")


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
