"""The `ddb-backupd` command line: one module per subcommand, each with `add_parser` and `run`."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from daemon import __version__

# subcommand -> module under daemon.cli (imported lazily: `decode` must not pay for aioboto3)
COMMANDS = {
    "run": ("run", "Run the daemon (the default in the container image)."),
    "check-config": ("check_config", "Print the effective configuration, or every error in it."),
    "decode": ("decode", "Decode one SQS message body as the daemon would."),
    "next-runs": ("next_runs", "Print the next run times of a cron()/rate() expression."),
    "plan": ("plan", "Show what schedules would back up and retention would delete."),
    "restore-name": ("restore_name", "Print the table name a restore rule would give."),
    "demo": ("demo", "Run the daemon against the embedded local AWS stand-in."),
    "sandbox": ("sandbox", "Serve the local AWS stand-in alone and print its endpoint."),
}


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that subcommand's module is imported (fast start:
    `decode` must not pay for moto, `run` not for the demo)."""
    parser = argparse.ArgumentParser(prog="ddb-backupd", description=__doc__)
    parser.add_argument("--version", action="version", version=f"ddb-backupd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        if only is None or only == name:
            _load(module).add_parser(p)
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
