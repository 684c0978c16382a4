"""`ddb-backupd run`: the daemon. Exit 0 after a graceful stop, 2 on invalid configuration."""

from __future__ import annotations

import argparse
import asyncio

from daemon.cli.common import settings_or_report


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="Do everything but create and delete backups.")


def run(args: argparse.Namespace) -> int:
    settings = settings_or_report()
    if settings is None:
        return 2
    if args.dry_run:
        settings = settings.model_copy(update={"dry_run": True})
    from daemon.app import run_daemon  # noqa: PLC0415 - keeps light commands light
    from daemon.obs.logging import configure_logging  # noqa: PLC0415

    configure_logging(settings.log_level)
    return asyncio.run(run_daemon(settings))
