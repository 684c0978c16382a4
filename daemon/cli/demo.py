"""`ddb-backupd demo`: the daemon's main job against the embedded local AWS stand-in.

Starts moto + the AWS Backup fake on 127.0.0.1, creates tables with items, an event queue
(with a DLQ), an alert topic with an inbox queue subscribed, and a vault; then plays a wave of
backup jobs whose sizes cross the warning and critical levels (the demo sets a small limit),
with some failures, while the real daemon runs against it. Prints a live line every few
seconds and a summary at the end. No AWS account is needed; nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import sys
import tempfile
from pathlib import Path

from daemon.cli.common import missing_extra, report_missing_standin

DESCRIPTION = """\
Watch the daemon at work without an AWS account: start the local AWS stand-in on 127.0.0.1,
create tables, an event queue, an alert topic and a vault, play a wave of backup jobs that
crosses the warning and critical levels (with some failures), and run the daemon against
it. Prints the status page's address first, then a live line every few seconds and a summary
at the end; the daemon's JSON logs go to a file it names. Nothing leaves this machine.

Needs the stand-in extra, which the container image does not have:
  pip install 'ddb-backupd[standin]'"""

EXIT_CODES = {
    0: "The demo ran to its end (--seconds) or was stopped with Ctrl-C.",
    1: "A second Ctrl-C forced an immediate exit.",
    2: "The stand-in extra is not installed (the container image): how to install it is on "
       "stderr.",
}


def add_parser(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seconds", type=float, default=None, metavar="S",
                        help="Stop after this many seconds (default: run until Ctrl-C).")
    parser.add_argument("--port", type=int, default=9102,
                        help="Port of the status page (/), /status, /metrics, /healthz and "
                        "/readyz (default 9102; 0: any free port).")
    parser.add_argument("--accounts", type=int, default=1, choices=range(1, 10), metavar="N",
                        help="Accounts of the Organization the demo plays (1-9, default 1): "
                        "the demo's own and N-1 member accounts, each with a table, a job, "
                        "and its own level, read through the member's role.")


def run(args: argparse.Namespace) -> int:
    try:  # moto is an optional extra (not in the image), and heavy: only the demo pays for it
        from daemon.cli.demo_scenario import Scenario, demo_settings  # noqa: PLC0415
        from daemon.standin import StandIn  # noqa: PLC0415
    except ImportError as exc:
        if not missing_extra(exc):
            raise
        return report_missing_standin("demo", exc)

    port = args.port or _free_port()
    print(f"ddb-backupd demo: status page http://127.0.0.1:{port}/  (up in a few seconds; "
          f"JSON at /status, Prometheus at /metrics)", flush=True)
    logdir = Path(tempfile.mkdtemp(prefix="ddb-backupd-demo-"))
    with StandIn() as standin:
        os.environ.update(standin.env())
        from daemon.cli.demo_accounts import member_ids  # noqa: PLC0415 - with the scenario

        scenario = Scenario(standin, members=member_ids(args.accounts))
        scenario.setup()
        settings = demo_settings(scenario, port=port)
        print(f"  local AWS stand-in at {standin.endpoint_url}", flush=True)
        print(f"  tables: {', '.join(scenario.tables)}", flush=True)
        print(f"  limit {scenario.limit_gib} GiB: warning at 80 %, critical at 90 %", flush=True)
        if scenario.members:
            print(f"  member accounts: {', '.join(scenario.members)} (each with its own "
                  "limit and level, read through its role)", flush=True)
        print(f"  daemon logs (JSON lines): {logdir / 'daemon.log'}", flush=True)
        with (logdir / "daemon.log").open("w", encoding="utf-8") as log_file:
            from daemon.obs.logging import configure_logging  # noqa: PLC0415

            configure_logging("info", json=True, stream=log_file)
            code = asyncio.run(scenario.play(settings, seconds=args.seconds))
    sys.stdout.flush()
    return code


def _free_port() -> int:
    """A port free now, so the page's address can be printed before anything starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
