"""The `ddb-backupd` command line: one module per subcommand.

Each module has `add_parser(parser)`, `run(args) -> int`, and the user documentation its
`--help` shows: `DESCRIPTION` (what the command does, for the person running it) and
`EXIT_CODES` (code -> meaning). docs/cli.md lists every command's exit codes in one table;
tests/cli/test_help.py keeps it, the `--help` texts and the code in step.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import textwrap
from collections.abc import Mapping, Sequence
from types import ModuleType

from daemon import __version__

# subcommand -> (module under daemon.cli, one-line summary). Modules are imported lazily:
# `decode` must not pay for aioboto3, nor `ddb-backupd --help` for any command.
COMMANDS = {
    "run": ("run", "Run the daemon (the default command of the container image)."),
    "status": ("status", ("Summarise a running daemon: readiness, bytes against the limit, "
                          "jobs, schedules, alerts.")),
    "get": ("get", "List a running daemon's jobs, schedules, tables, tasks or alerts."),
    "check-config": ("check_config", "Print the effective configuration, or every error in it."),
    "decode": ("decode", "Decode one SQS message body as the daemon would."),
    "next-runs": ("next_runs", "Print the next run times of a cron() or rate() expression."),
    "plan": ("plan", "Show what the schedules would back up and retention would delete."),
    "restore-name": ("restore_name", "Print the table name a restore rule would give a backup."),
    "restore": ("restore", "Restore one backup into a new table now, and wait until ACTIVE."),
    "iam-policy": ("iam_policy", "Print the least-privilege IAM policy the configuration needs."),
    "demo": ("demo", "Run the daemon against the embedded local AWS stand-in."),
    "sandbox": ("sandbox", "Serve the local AWS stand-in alone and print its endpoint."),
}

DESCRIPTION = """\
ddb-backupd schedules, tracks, prunes, restores and exports DynamoDB (and RDS) backups with
AWS Backup, in one process. Its configuration comes from BACKUPD_* environment variables and
the YAML file named by BACKUPD_CONFIG_FILE; `ddb-backupd check-config` shows the result.
A running daemon shows its status page at http://HOST:9102/; `ddb-backupd status` and
`ddb-backupd get` read the same from the command line (through `kubectl exec` or ECS Exec)."""

# Exit codes any command may end with, besides its own.
COMMON_EXIT_CODES = {
    2: "The command line is wrong (an unknown option, a missing argument, no command): the "
       "usage is printed on stderr.",
    130: "Interrupted with Ctrl-C.",
}
COMMON_NOTE = ("Any command also exits 2 when its command line is wrong (the usage is printed "
               "on stderr), and 130 when interrupted with Ctrl-C.")


def exit_code_text(codes: Mapping[int, str], *, common_note: bool = True) -> str:
    """The `exit codes:` section of a --help text: the command's own, then the common ones."""
    lines = ["exit codes:"]
    for code, meaning in sorted(codes.items()):
        lines += textwrap.wrap(meaning, 88, initial_indent=f"  {code:<4} ",
                               subsequent_indent=" " * 7)
    if common_note:
        lines += ["", *textwrap.wrap(COMMON_NOTE, 92)]
    return "\n".join(lines)


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; only the subcommand `only` gets its options and full help (its module is
    the only one imported: `decode` must not pay for moto, `run` not for the demo)."""
    parser = argparse.ArgumentParser(
        prog="ddb-backupd", description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run `ddb-backupd COMMAND --help` for a command's options and exit codes;\n"
               "docs/cli.md lists them all.\n\n" + exit_code_text(COMMON_EXIT_CODES, common_note=False))
    parser.add_argument("--version", action="version", version=f"ddb-backupd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, summary) in COMMANDS.items():
        if only != name:
            sub.add_parser(name, help=summary, description=summary).set_defaults(_module=module)
            continue
        command = _load(module)
        p = sub.add_parser(name, help=summary, description=command.DESCRIPTION,
                           epilog=exit_code_text(command.EXIT_CODES),
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(_module=module)
        command.add_parser(p)
    return parser


def _load(module: str) -> ModuleType:
    return importlib.import_module(f"daemon.cli.{module}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else None)
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help(sys.stderr)
        return 2
    command = _load(args._module)
    try:
        code: int = command.run(args)
    except KeyboardInterrupt:
        return 130
    return code
