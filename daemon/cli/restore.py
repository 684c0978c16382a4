"""`ddb-backupd restore`: restore one backup now, the way the daemon's restore rules do.

The source is a backup ARN (`--recovery-point`: a native DynamoDB backup, restored with
RestoreTableFromBackup, or an AWS Backup recovery point, restored with StartRestoreJob) or
the newest usable backup of a table (`--table NAME --latest`). The restore itself is the
daemon's adapter (`tasks.restore_aws`), the target name the daemon's naming
(`core.tasks.on_demand`). Progress is JSON lines on stdout, one per phase; logs and the
reason of a failure go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from datetime import UTC, datetime
from typing import Any, NoReturn

from daemon.cli.common import settings_or_report
from daemon.core.tasks.naming import NamingError

DESCRIPTION = """\
Restore a DynamoDB backup into a new table now, and optionally wait until the table is
ACTIVE and write its ARN to an SSM parameter. The source is a backup or recovery point ARN,
or the newest AVAILABLE backup of a table (native backups and AWS Backup recovery points).
The new table is --target, else the name the first matching restore rule of the
configuration gives the backup, else <table>-restored-YYYYMMDD-HH-mm-ss (the backup's
creation time, UTC); the `target` line says which. A member account's backup is restored
in that account through its role (organization.role_arn_template): --account, or the account
a --recovery-point ARN names; the `found` line carries `account`. Progress is one JSON
object per line on stdout: {"phase": "found" | "target" | "restoring" | "restore_job" |
"waiting_active" | "active" | "ssm" | "started" | "done" | "error", ...}.

  ddb-backupd restore --table orders --latest --wait
  ddb-backupd restore --table orders --latest --account 222233334444 --wait
  ddb-backupd restore --recovery-point arn:aws:dynamodb:...:table/orders/backup/0169... \\
    --target orders-copy --ssm-parameter /staging/orders-table-arn"""

EXIT_CODES = {
    0: "Done: with --wait or --ssm-parameter the table is ACTIVE (and the parameter written); "
       "without, the restore has started.",
    1: "An AWS call could not be made (endpoint unreachable, no credentials): the reason is "
       "on stderr.",
    2: "The configuration or an option is invalid (a bad --target, no restore role for an AWS "
       "Backup recovery point): the reason is on stderr.",
    3: "The recovery point, or any usable backup of --table, was not found.",
    4: "Refused by AWS (the target table exists, access denied, a failed restore job): AWS's "
       "reason is on stderr.",
    5: "Timed out: the table was not ACTIVE within --timeout (the restore goes on in AWS).",
}


ACCOUNT = re.compile(r"[0-9]{12}")


class Exit(Exception):  # noqa: N818 - an outcome, not an error: it carries the exit code
    """End the command with `code`; `reason` goes to stderr and to the `error` line."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def fail(code: int, reason: str) -> NoReturn:
    raise Exit(code, reason)


def add_parser(parser: argparse.ArgumentParser) -> None:
    """Declare this command's arguments."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--recovery-point", metavar="ARN",
                        help="DynamoDB backup ARN or AWS Backup recovery point ARN.")
    source.add_argument("--table", metavar="NAME",
                        help="Source table; with --latest, its newest AVAILABLE backup.")
    parser.add_argument("--account", metavar="ID",
                        help="Restore in this AWS account (12 digits) through its role "
                        "(organization.role_arn_template); default: the account a "
                        "--recovery-point ARN names, else the daemon's own.")
    parser.add_argument("--latest", action="store_true",
                        help="With --table: take the newest AVAILABLE backup (required).")
    parser.add_argument("--target", metavar="NAME", help="Name of the new table (default: "
                        "a matching restore rule's name, else <table>-restored-<time>).")
    parser.add_argument("--ssm-parameter", metavar="P", help="SSM parameter to set to the "
                        "new table's ARN once ACTIVE ('{table}': the source table); implies "
                        "--wait.")
    parser.add_argument("--wait", action="store_true",
                        help="Wait until the table is ACTIVE.")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="Give up waiting after this long (default: "
                        "tasks.restore_timeout_seconds).")


def run(args: argparse.Namespace) -> int:
    """Restore, print the phases; the exit code."""
    problem = option_problem(args)
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    settings = settings_or_report()
    if settings is None:
        return 2
    from daemon.cli.restore_flow import restore  # noqa: PLC0415 - aioboto3 only when needed
    from daemon.obs.logging import logs_on_stderr  # noqa: PLC0415

    try:
        with logs_on_stderr():  # stdout carries the progress lines only
            asyncio.run(restore(settings, args, emit))
    except Exit as exc:
        emit("error", exit=exc.code, reason=str(exc))
        print(f"ddb-backupd restore: {exc}", file=sys.stderr)
        return exc.code
    except NamingError as exc:
        emit("error", exit=2, reason=str(exc))
        print(f"ddb-backupd restore: {exc}", file=sys.stderr)
        return 2
    return 0


def option_problem(args: argparse.Namespace) -> str | None:
    """What is wrong with the options, checked before any configuration or AWS call."""
    if args.table is not None and not args.latest:
        return "--table needs --latest (the newest AVAILABLE backup of the table)"
    if args.account is not None and not ACCOUNT.fullmatch(args.account):
        return f"--account {args.account!r} is not a 12-digit AWS account id"
    if args.timeout is not None and args.timeout <= 0:
        return "--timeout must be positive"
    return None


def emit(phase: str, /, **facts: Any) -> None:
    """One progress line on stdout (flushed: a caller reads it while the command runs)."""
    line = {"phase": phase, "time": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            **facts}
    print(json.dumps(line, default=str), flush=True)
