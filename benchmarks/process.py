"""The daemon as a process: time to ready and idle memory of `ddb-backupd run`.

`ready_s`: from spawning `python -m daemon run` (what the `ddb-backupd` script runs) to
`/readyz` answering 200 against the stand-in: config loaded, AWS answered, the first
reconcile done, the consumer polling. Baseline: spawning `python -c pass` until it exits.
`rss_idle_mb`: VmRSS of that process after it has sat idle for a few seconds. Baseline: a
bare `python -c 'import asyncio'` kept alive. Median of a few starts each.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from benchmarks.common import Figure, Target, exit_with, figure, median, rss_bytes
from benchmarks.sandbox import Sandbox, wait_http

STARTS = 3
IDLE_SECONDS = 3.0
MB = 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_daemon(sb: Sandbox, queue_url: str) -> tuple[float, float, float]:
    """(seconds to /readyz 200, idle RSS in bytes, seconds to /healthz 200) of one start."""
    port = free_port()
    env = sb.daemon_env(queue_url=queue_url, http__host="127.0.0.1", http__port=str(port))
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "daemon", "run"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        alive = wait_http(f"http://127.0.0.1:{port}/healthz", timeout=90) - start
        ready = wait_http(f"http://127.0.0.1:{port}/readyz", timeout=90) - start
        time.sleep(IDLE_SECONDS)
        rss = rss_bytes(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return ready, rss, alive


def python_start() -> float:
    """Seconds for `python -c pass` to start and exit: the floor of any Python service."""
    start = time.monotonic()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.monotonic() - start


def bare_asyncio_rss() -> int:
    """VmRSS of a Python that imported asyncio and waits."""
    proc = subprocess.Popen([sys.executable, "-c", "import asyncio, sys; sys.stdin.read()"],
                            stdin=subprocess.PIPE)
    try:
        time.sleep(0.5)
        return rss_bytes(proc.pid)
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def run() -> list[Figure]:
    with Sandbox() as sb:
        queue_url = sb.queue("bench-process")
        runs = [start_daemon(sb, queue_url) for _ in range(STARTS)]
    ready = median(r[0] for r in runs)
    alive = median(r[2] for r in runs)
    rss = median(r[1] for r in runs) / MB
    base_start = median(python_start() for _ in range(5))
    base_rss = median(bare_asyncio_rss() for _ in range(3)) / MB
    return [
        figure("rss_idle_mb", rss, "MB", Target("<=", 80), baseline=base_rss,
               baseline_unit="MB python+asyncio", ratio=rss / base_rss,
               note=f"median of {STARTS} starts, {IDLE_SECONDS:.0f} s idle after ready"),
        figure("ready_s", ready, "s", Target("<", 2), baseline=base_start,
               baseline_unit="s python -c pass", ratio=ready / base_start,
               healthz_s=round(alive, 3),
               note=f"median of {STARTS} starts (empty queue); /healthz after {alive:.2f} s, "
                    f"/readyz after " + ", ".join(f"{r[0]:.2f}" for r in runs) + " s"),
    ]


if __name__ == "__main__":
    exit_with(run)
