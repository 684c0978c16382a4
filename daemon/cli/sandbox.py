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

DESCRIPTION = """\
Serve the local AWS stand-in (moto's server and the AWS Backup fake) on its own, empty,
until Ctrl-C or SIGTERM: to try `ddb-backupd run` locally, or to share one stand-in between
several daemons. Prints the endpoint URL as the first line of stdout, then
the `export` lines of the environment a client needs.

  ddb-backupd sandbox --port 4566

Needs the stand-in extra, which the container image does not have:
  pip install 'ddb-backupd[standin]'"""

EXIT_CODES = {
    0: "Stopped by Ctrl-C or SIGTERM.",
    1: "The address cannot be listened on (port in use, say): the reason is on stderr.",
    2: "The stand-in extra is not installed (the container image): how to install it is on "
       "stderr.",
}


def add_parser(parser: argparse.ArgumentParser) -> None:
    """Declare this command's arguments."""
    parser.add_argument("--host", default="127.0.0.1",
                        help="Address to listen on (default 127.0.0.1: the stand-in has "
                        "no authentication).")
    parser.add_argument("--port", type=int, default=0,
                        help="Port to listen on (default 0: any free port).")
    parser.add_argument("--region", default="us-east-1",
                        help="The stand-in's default region (default us-east-1).")


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
