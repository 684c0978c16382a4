"""`ddb-backupd sandbox` (not built yet)."""

from __future__ import annotations

import argparse
import sys


def add_parser(parser: argparse.ArgumentParser) -> None:
    """Declare this command's arguments."""
    del parser


def run(args: argparse.Namespace) -> int:
    """Run the command; return the process exit code."""
    del args
    print("not built yet", file=sys.stderr)
    return 3
