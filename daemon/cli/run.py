"""`ddb-backupd run`: the daemon. Exit 0 after a graceful stop, 2 on invalid configuration."""

from __future__ import annotations

import argparse
import asyncio
import gc

DESCRIPTION = """\
Run the daemon: consume AWS Backup events from SQS, track running backup jobs, publish the
gauges (Prometheus /metrics, CloudWatch) and alerts (SNS), and, on the leader, run the
schedules, retention, restores and exports. Serves /metrics, /healthz, /readyz and /status
on BACKUPD_HTTP__PORT (default 9102). Logs are JSON lines on stdout (text on a terminal).

SIGTERM or SIGINT stops it gracefully within BACKUPD_SHUTDOWN_GRACE_SECONDS; a second
signal exits at once (work still running in AWS is found again at the next start)."""

EXIT_CODES = {
    0: "Stopped gracefully after SIGTERM or SIGINT.",
    1: "A second SIGTERM or SIGINT forced an immediate exit.",
    2: "The configuration is invalid: every error is listed on stderr.",
}


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", action="store_true",
                        help="Do everything but create and delete backups (as "
                        "BACKUPD_DRY_RUN=true).")


def run(args: argparse.Namespace) -> int:
    # Start-up builds ~120 000 objects that live as long as the process (modules, models,
    # clients) and little garbage (~2 000 objects): the cyclic collector, which would walk
    # them again and again, is off until the daemon is ready (app._freeze_when_ready collects
    # once, freezes them, turns it back on): 15-20 % less CPU to ready. So the libraries and
    # the settings are imported here, after it.
    gc.disable()
    try:
        from daemon.cli.common import settings_or_report  # noqa: PLC0415

        settings = settings_or_report()
        if settings is None:
            return 2
        if args.dry_run:
            settings = settings.model_copy(update={"dry_run": True})
        from daemon.aws.default_certs import deferred_default_certs  # noqa: PLC0415

        with deferred_default_certs():  # aiohttp's CA store: loaded once ready, not before
            from daemon.app import run_daemon  # noqa: PLC0415 - keeps light commands light
        from daemon.obs.logging import configure_logging  # noqa: PLC0415

        configure_logging(settings.log_level)
        return asyncio.run(run_daemon(settings))
    finally:
        gc.enable()
