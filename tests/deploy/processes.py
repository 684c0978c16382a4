"""Starting and stopping the processes the end-to-end deployment checks run, and HTTP polling.

Every wait is bounded: a process that does not come up fails the test with its output instead
of hanging CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """(status, body) of a GET; connection errors are status 0."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), bytes(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def get_json(url: str) -> Any:
    status, body = http_get(url)
    assert status == 200, f"GET {url}: {status} {body[:300]!r}"
    return json.loads(body)


def wait_for[T](what: str, probe: Callable[[], T | None], timeout: float,
             proc: subprocess.Popen[str] | None = None, interval: float = 0.2) -> T:
    """Poll `probe` until it returns something truthy; fail with `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: process exited {proc.returncode} first\n{output_of(proc)}")
        value = probe()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"{what}: not within {timeout:.0f} s"
                + (f"\n{output_of(proc)}" if proc is not None else ""))


def output_of(proc: subprocess.Popen[str]) -> str:
    log = getattr(proc, "log_path", None)
    return Path(log).read_text(errors="replace")[-4000:] if log else ""


@contextlib.contextmanager
def started(args: Sequence[str], log_path: Path, **kwargs: Any) -> Iterator[
        subprocess.Popen[str]]:
    """Run `args` with stdout+stderr to `log_path`; SIGTERM (then SIGKILL) on exit."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(list(args), stdout=log, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True, **kwargs)
        proc.log_path = str(log_path)  # type: ignore[attr-defined]
        try:
            yield proc
        finally:
            stop(proc)


def stop(proc: subprocess.Popen[str], timeout: float = 10.0) -> int:
    """SIGTERM, wait, then SIGKILL: the exit code (negative for a signal)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    return int(proc.returncode)


def read_line(log: IO[str], prefix: str) -> str | None:
    """The first line of `log` that starts with `prefix` (stripped), if written yet."""
    log.seek(0)
    for line in log:
        if line.startswith(prefix):
            return line.strip()
    return None
