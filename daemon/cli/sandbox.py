"""`ddb-backupd sandbox [--host H] [--port P] [--region R]`: the local AWS stand-in, alone.

Starts moto's server plus the AWS Backup fake, creates nothing, prints the endpoint URL as
the first line of stdout (flushed, so a parent process can read it) and then the
environment a client needs, and serves until SIGINT/SIGTERM (exit 0). Several
`ddb-backupd run` processes can share one sandbox, which is how the two-replica tests and
users trying `run` locally use it.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType

from daemon.cli.common import missing_extra, report_missing_standin


def add_parser(parser: argparse.ArgumentParser) -> None:
    """Declare this command's arguments."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1; the fake has no auth)")
    parser.add_argument("--port", type=int, default=0,
                        help="port to bind (default 0: any free port)")
    parser.add_argument("--region", default="us-east-1",
                        help="the fake's default region (default us-east-1)")


def run(args: argparse.Namespace) -> int:
    """Serve the stand-in until a signal; return the process exit code."""
    try:
        from daemon.standin.server import StandIn  # noqa: PLC0415 - moto is an optional extra
    except ImportError as exc:
        if not missing_extra(exc):
            raise
        return report_missing_standin("sandbox", exc)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    standin = StandIn(host=args.host, port=args.port, region=args.region)
    try:
        url = standin.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(url, flush=True)
    for key, value in standin.env().items():
        print(f"export {key}={value}", flush=True)
    print("sandbox ready; Ctrl-C or SIGTERM stops it", file=sys.stderr, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0
